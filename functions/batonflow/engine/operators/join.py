"""JOIN and EXCLUSIVE_JOIN (REFERENCE §4.5, §4.19): tasks that wait for other tasks.

Both stay IN_PROGRESS and are re-evaluated on every decide. Conductor lets a JOIN wait forever for a joinOn
reference that is never scheduled (e.g. in a SWITCH branch that was not taken); Baton fails it instead once
nothing else in the workflow can run (``stuck_reason``), so a workflow never hangs silently.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision, loop_reference
from batonflow.engine.definition_index import DYNAMIC_FORK_BRANCH
from batonflow.engine.operators.base import Operator, new_task
from batonflow.engine.state import JoinCount
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask


def _optional(task: Task) -> bool:
    return bool(task.workflow_task and task.workflow_task.optional)


def _permissive(task: Task) -> bool:
    return bool(task.workflow_task and task.workflow_task.permissive)


def _finish(
    decision: Decision, task: Task, status: TaskStatus, output: dict[str, Any], reason: str | None
) -> None:
    decision.update_task(
        task.model_copy(
            update={
                "status": status,
                "output_data": output,
                "reason_for_incompletion": reason,
                "end_time": decision.now,
                "update_time": decision.now,
            }
        )
    )


class WaitingOperator(Operator):
    retriable = False
    waits_on_others = True

    def stuck_reason(self, decision: Decision, task: Task) -> str | None:
        """Why this task can never finish, given that nothing else in the workflow is running."""
        missing = [ref for ref in self.awaited(task) if decision.latest(ref) is None]
        if not missing:
            return None
        return f"{task.reference_task_name} waits for tasks that were never scheduled: {', '.join(missing)}"

    def awaited(self, task: Task) -> list[str]:
        return list(task.input_data.get("joinOn") or [])


class JoinOperator(WaitingOperator):
    task_types = (TaskType.JOIN,)

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        references = [loop_reference(r, iteration) for r in workflow_task.join_on]
        return [self.create(decision, workflow_task, iteration, references)]

    def create(
        self, decision: Decision, workflow_task: WorkflowTask, iteration: int, join_on: list[str]
    ) -> Task:
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.JOIN,
            task_def_name=TaskType.JOIN,
            status=TaskStatus.IN_PROGRESS,
            input_data={"joinOn": join_on},
            iteration=iteration,
        )
        decision.add_task(task)
        return task

    def execute(self, decision: Decision, task: Task) -> None:
        count = decision.joins.get(task.task_id)
        if decision.partial and count is not None and count.remaining > 0:
            return  # branches still run; their completions are counted without reading them all
        references = self.awaited(task)
        decision.require(references)
        attempts = {ref: decision.latest(ref) for ref in references}
        output = dict(task.output_data)
        for ref, attempt in attempts.items():
            if attempt is not None and attempt.output_data:
                output[ref] = attempt.output_data
        present = [a for a in attempts.values() if a is not None]
        all_terminal = len(present) == len(references) and all(a.status.is_terminal for a in present)
        failed = [
            a
            for a in present
            if a.status.is_terminal
            and not a.status.is_successful
            and not _optional(a)
            and (not _permissive(a) or all_terminal)
        ]
        if failed:
            status = (
                TaskStatus.CANCELED
                if all(a.status == TaskStatus.CANCELED for a in failed)
                else TaskStatus.FAILED
            )
            reason = " ".join(a.reason_for_incompletion for a in failed if a.reason_for_incompletion)
            _finish(decision, task, status, output, reason or None)
        elif all_terminal:
            with_errors = any(a.status == TaskStatus.COMPLETED_WITH_ERRORS for a in present)
            status = TaskStatus.COMPLETED_WITH_ERRORS if with_errors else TaskStatus.COMPLETED
            _finish(decision, task, status, output, None)
        elif output != task.output_data and count is None:
            # a counted JOIN (large fork) writes its output once, when it completes
            decision.update_task(task.model_copy(update={"output_data": output}))

    def count_joined(self, decision: Decision, task: Task) -> tuple[JoinCount, list[str]] | None:
        references = self.awaited(task)
        if task.iteration > 0 or not references:
            return None
        decision.require(references)
        seqs = _forked_seqs(decision, references) or _branch_members(decision, references)
        if seqs is None:
            return None
        done = [
            attempt.task_id
            for attempt in (decision.latest(ref) for ref in references)
            if attempt is not None and attempt.status.is_terminal and attempt.status.is_successful
        ]
        remaining = len(references) - len(done)
        return JoinCount(task.reference_task_name, remaining, *seqs), done


def _branch_members(decision: Decision, references: list[str]) -> tuple[int, int] | None:
    """(0, 0) when every reference sits directly in a branch of a static fork (so it always runs)."""
    for ref in references:
        slot = decision.index.slot(ref)
        if (
            slot is None
            or slot.container is None
            or slot.container is DYNAMIC_FORK_BRANCH
            or not decision.operators(slot.container.type).runs_every_branch
            or decision.index.in_loop(ref)
        ):
            return None
    return 0, 0


def _forked_seqs(decision: Decision, references: list[str]) -> tuple[int, int] | None:
    """The ``seq`` range of a dynamic fork's tasks when the references are exactly that fork's leaf tasks,
    scheduled one after the other (so a forked task is recognised by its first attempt's ``seq``)."""
    firsts = []
    for ref in references:
        slot = decision.index.slot(ref)
        attempts = decision.tasks_for(ref)
        if slot is None or slot.container is not DYNAMIC_FORK_BRANCH or slot.task.children() or not attempts:
            return None
        firsts.append(attempts[0].seq)
    if max(firsts) - min(firsts) + 1 != len(references):
        return None
    return min(firsts), max(firsts)


class ExclusiveJoinOperator(WaitingOperator):
    """Waits for the first ``joinOn`` task that ran (not SKIPPED), else ``defaultExclusiveJoinTask``."""

    task_types = (TaskType.EXCLUSIVE_JOIN,)

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        input_data: dict[str, Any] = {"joinOn": [loop_reference(r, iteration) for r in workflow_task.join_on]}
        if workflow_task.default_exclusive_join_task:
            input_data["defaultExclusiveJoinTask"] = [
                loop_reference(r, iteration) for r in workflow_task.default_exclusive_join_task
            ]
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.EXCLUSIVE_JOIN,
            task_def_name=TaskType.EXCLUSIVE_JOIN,
            status=TaskStatus.IN_PROGRESS,
            input_data=input_data,
            iteration=iteration,
        )
        decision.add_task(task)
        return [task]

    def _first_ran(self, decision: Decision, references: list[str]) -> Task | None:
        for ref in references:
            attempt = decision.latest(ref)
            if attempt is not None and attempt.status != TaskStatus.SKIPPED:
                return attempt
        return None

    def execute(self, decision: Decision, task: Task) -> None:
        deciding = self._first_ran(decision, self.awaited(task))
        if deciding is None or not deciding.status.is_terminal:
            fallback = self._first_ran(decision, list(task.input_data.get("defaultExclusiveJoinTask") or []))
            if fallback is not None and fallback.status.is_terminal:
                deciding = fallback
        if deciding is None or not deciding.status.is_terminal:
            return
        if deciding.status.is_successful:
            _finish(decision, task, TaskStatus.COMPLETED, dict(deciding.output_data), None)
        else:
            _finish(decision, task, TaskStatus.FAILED, {}, deciding.reason_for_incompletion)

    def stuck_reason(self, decision: Decision, task: Task) -> str | None:
        candidates = self.awaited(task) + list(task.input_data.get("defaultExclusiveJoinTask") or [])
        if any(decision.latest(ref) is not None for ref in candidates):
            return None
        return f"{task.reference_task_name}: none of its joinOn tasks was scheduled"
