"""The interface every task type implements, and the task factory they share.

A task type is one module with one :class:`Operator`. The decider never branches on a task's type; it asks
the registry (``batonflow.engine.operators.operator_for``) and calls:

* :meth:`Operator.schedule` when the flow reaches a WorkflowTask: create the task attempt(s);
* :meth:`Operator.execute` on every pass for a non-terminal task of a synchronous system type (SWITCH,
  SET_VARIABLE, ...) — worker types don't implement it;
* :meth:`Operator.retry` when a failed attempt is retried: create the next attempt.

Flags tell the decider how the type behaves: ``is_worker`` (dispatched to a queue; subject to the worker
timeouts), ``retriable`` (operators like FORK/JOIN are never retried).
"""

from __future__ import annotations

from typing import Any, ClassVar

from batonflow.engine.context import Decision
from batonflow.model import Task, TaskStatus, WorkflowTask


class Operator:
    """Base class: a task type that needs only scheduling (subclasses override what they need)."""

    task_types: ClassVar[tuple[str, ...]] = ()
    is_worker: ClassVar[bool] = False
    retriable: ClassVar[bool] = True

    def schedule(self, decision: Decision, workflow_task: WorkflowTask) -> list[Task]:
        raise NotImplementedError

    def execute(self, decision: Decision, task: Task) -> None:
        """Advance a non-terminal task of this type (synchronous system tasks only)."""

    def retry(self, decision: Decision, failed: Task, delay_seconds: int) -> Task | None:
        """Create the attempt that replaces ``failed``; None if this type is not retried."""
        return None


def new_task(
    decision: Decision,
    workflow_task: WorkflowTask,
    *,
    task_type: str,
    status: TaskStatus,
    input_data: dict[str, Any],
    retry_count: int = 0,
    reference_name: str | None = None,
    **fields: Any,
) -> Task:
    """A fresh attempt with the fields every type fills the same way (REFERENCE §1.7, §3.2 step 6)."""
    workflow = decision.workflow
    reference = reference_name or workflow_task.task_reference_name
    values: dict[str, Any] = {
        "task_id": decision.new_task_id(reference, retry_count),
        "task_type": task_type,
        "task_def_name": workflow_task.name,
        "reference_task_name": reference,
        "status": status,
        "input_data": input_data,
        "retry_count": retry_count,
        "seq": decision.allocate_seq(),
        "scheduled_time": decision.now,
        "update_time": decision.now,
        "workflow_instance_id": workflow.workflow_id,
        "workflow_type": workflow.workflow_name,
        "correlation_id": workflow.correlation_id,
        "workflow_priority": workflow.priority,
        "workflow_task": workflow_task,
    }
    values.update(fields)
    return Task(**values)
