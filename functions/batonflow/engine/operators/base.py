"""The interface every task type implements, and the task factory they share.

A task type is one module with one :class:`Operator`. The decider never branches on a task's type; it asks
the registry (``batonflow.engine.operators.operator_for``) and calls:

* :meth:`Operator.schedule` when the flow reaches a WorkflowTask: create the task attempt(s);
* :meth:`Operator.execute` on every pass for a non-terminal task of a synchronous system type that waits
  on others (JOIN, DO_WHILE, EXCLUSIVE_JOIN) — worker types don't implement it;
* :meth:`Operator.retry` when a failed attempt is retried: create the next attempt;
* :meth:`Operator.successors` when an attempt has finished: what the flow runs next;
* :meth:`Operator.after_branch` when a list nested in this type (a SWITCH case, a fork branch, a loop body)
  has run to its end;
* :meth:`Operator.deadline` for an open task that is no worker task: when a decide must run again for it
  (a WAIT's end), so the plan's ``wake_at`` covers it.

Flags tell the decider how the type behaves: ``is_worker`` (dispatched to a queue; subject to the worker
timeouts), ``retriable`` (operators like FORK/JOIN are never retried), ``waits_on_others`` (JOIN-like
tasks that stay IN_PROGRESS until other tasks finish).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from batonflow.engine.context import Decision, reference_for
from batonflow.engine.document import base_reference
from batonflow.engine.flow import Next, next_in_flow
from batonflow.engine.inputs import resolve_task_input
from batonflow.engine.state import JoinCount
from batonflow.model import Task, TaskStatus, WorkflowTask


class Operator:
    """Base class: a task type that needs only scheduling (subclasses override what they need)."""

    task_types: ClassVar[tuple[str, ...]] = ()
    is_worker: ClassVar[bool] = False
    retriable: ClassVar[bool] = True
    waits_on_others: ClassVar[bool] = False
    runs_every_branch: ClassVar[bool] = False
    """Every branch nested in this type runs (forks), so a JOIN can count its branches (join_counts.py)."""

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        raise NotImplementedError

    def execute(self, decision: Decision, task: Task) -> None:
        """Advance a non-terminal task of this type (synchronous system tasks only)."""

    def retry(self, decision: Decision, failed: Task, delay_seconds: int) -> Task | None:
        """Create the attempt that replaces ``failed``; None if this type is not retried."""
        return None

    def successors(self, decision: Decision, task: Task) -> Next:
        return next_in_flow(decision, base_reference(task.reference_task_name), task.iteration)

    def after_branch(self, decision: Decision, container: WorkflowTask, iteration: int) -> Next:
        return []

    def deadline(self, task: Task) -> int | None:
        """For an open task of a non-worker type: when :meth:`execute` has something to do by itself (epoch
        ms); None if only other tasks or an update can move it. Worker deadlines are ``timeouts``' job."""
        return None

    def stuck_reason(self, decision: Decision, task: Task) -> str | None:
        """For a waiting task, when nothing else can run: why it can never finish (None: it can)."""
        return None

    def count_joined(self, decision: Decision, task: Task) -> tuple[JoinCount, list[str]] | None:
        """For an open task that waits on others by counting them: its counter and the ids of the attempts
        already counted in it (see ``batonflow.engine.join_counts``); None if it does not count."""
        return None


def new_task(
    decision: Decision,
    workflow_task: WorkflowTask,
    *,
    task_type: str,
    status: TaskStatus,
    input_data: dict[str, Any],
    iteration: int = 0,
    retry_count: int = 0,
    task_def_name: str | None = None,
    reference_name: str | None = None,
    **fields: Any,
) -> Task:
    """A fresh attempt with the fields every type fills the same way (REFERENCE §1.7, §3.2 step 6).

    The reference name is the WorkflowTask's, suffixed with ``iteration`` inside a loop, unless given.
    """
    workflow = decision.workflow
    reference = reference_name or reference_for(workflow_task, iteration)
    values: dict[str, Any] = {
        "task_id": decision.new_task_id(reference, retry_count),
        "task_type": task_type,
        "task_def_name": task_def_name or workflow_task.name,
        "reference_task_name": reference,
        "status": status,
        "input_data": input_data,
        "retry_count": retry_count,
        "iteration": iteration,
        "seq": decision.allocate_seq(),
        "scheduled_time": decision.now,
        "update_time": decision.now,
        "workflow_instance_id": workflow.workflow_id,
        "workflow_type": workflow.workflow_name,
        "correlation_id": workflow.correlation_id,
        "workflow_priority": workflow.priority,
        "workflow_task": workflow_task,
    }
    if status.is_terminal or status == TaskStatus.IN_PROGRESS:
        values["start_time"] = decision.now
    if status.is_terminal:
        values["end_time"] = decision.now
    values.update(fields)
    return Task(**values)


@dataclass(frozen=True)
class Outcome:
    """What a synchronous system task produced."""

    status: TaskStatus
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


class AttemptOperator(Operator):
    """A type whose first attempt and retries are created by one method, :meth:`create`."""

    def create(
        self,
        decision: Decision,
        workflow_task: WorkflowTask,
        iteration: int,
        *,
        retry_count: int,
        retried: Task | None = None,
    ) -> Task:
        raise NotImplementedError

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        return [self.create(decision, workflow_task, iteration, retry_count=0)]

    def retry(self, decision: Decision, failed: Task, delay_seconds: int) -> Task | None:
        if failed.workflow_task is None:
            return None
        return self.create(
            decision,
            failed.workflow_task,
            failed.iteration,
            retry_count=failed.retry_count + 1,
            retried=failed,
        )


class SyncOperator(AttemptOperator):
    """A system task that finishes within the decide that schedules it (INLINE, SET_VARIABLE, ...)."""

    def run(self, decision: Decision, workflow_task: WorkflowTask, input_data: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def input_for(self, decision: Decision, workflow_task: WorkflowTask, task_id: str) -> dict[str, Any]:
        return resolve_task_input(decision, workflow_task, workflow_task.task_definition, task_id)

    def create(
        self,
        decision: Decision,
        workflow_task: WorkflowTask,
        iteration: int,
        *,
        retry_count: int,
        retried: Task | None = None,
    ) -> Task:
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), retry_count)
        input_data = self.input_for(decision, workflow_task, task_id)
        outcome = self.run(decision, workflow_task, input_data)
        task = new_task(
            decision,
            workflow_task,
            task_type=workflow_task.type,
            status=outcome.status,
            input_data=input_data,
            iteration=iteration,
            retry_count=retry_count,
            output_data=outcome.output,
            reason_for_incompletion=outcome.reason,
            retried_task_id=retried.task_id if retried else None,
        )
        decision.add_task(task)
        return task
