"""TERMINATE (REFERENCE §4.10, §3.8): end the workflow from inside its own flow, like a ``return``.

A valid ``terminationStatus`` (COMPLETED, FAILED or TERMINATED) completes the task, whose output is the
``workflowOutput`` (a map as is, any other value as ``{output: value}``, nothing as ``{}``), and ends the
workflow in the same decide with that status and output: the output replaces ``outputParameters``, every
task still running is CANCELED, and the reason is ``terminationReason`` or ``Workflow is <STATUS> by
TERMINATE task: <taskId>`` — also for COMPLETED, as Conductor does. An invalid status only FAILS the task;
the ordinary failure path then decides (retry per TaskDef, else the workflow fails naming the task).

The workflow is ended where the task is created (``schedule``/``retry``), not when its successors are asked
for on a later pass: the decide stops there instead of first advancing other tasks (e.g. other fork branches).
"""

from __future__ import annotations

from typing import Any, Final

from batonflow.engine import outcome
from batonflow.engine.context import Decision
from batonflow.engine.flow import Next
from batonflow.engine.operators.base import Outcome, SyncOperator
from batonflow.model import Task, TaskStatus, TaskType, WorkflowStatus, WorkflowTask

_STATUSES: Final = (WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.TERMINATED)
_INVALID_STATUS: Final = "given termination status is not valid"


def _task_output(workflow_output: Any) -> dict[str, Any]:
    if workflow_output is None:
        return {}
    if isinstance(workflow_output, dict):
        return dict(workflow_output)
    return {"output": workflow_output}


class TerminateOperator(SyncOperator):
    task_types = (TaskType.TERMINATE,)

    def run(self, decision: Decision, workflow_task: WorkflowTask, input_data: dict[str, Any]) -> Outcome:
        if input_data.get("terminationStatus") not in _STATUSES:
            return Outcome(TaskStatus.FAILED, reason=_INVALID_STATUS)
        return Outcome(TaskStatus.COMPLETED, _task_output(input_data.get("workflowOutput")))

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        tasks = super().schedule(decision, workflow_task, iteration)
        for task in tasks:
            self._end_workflow(decision, task)
        return tasks

    def retry(self, decision: Decision, failed: Task, delay_seconds: int) -> Task | None:
        attempt = super().retry(decision, failed, delay_seconds)
        if attempt is not None:
            self._end_workflow(decision, attempt)
        return attempt

    def successors(self, decision: Decision, task: Task) -> Next:
        return []

    def _end_workflow(self, decision: Decision, task: Task) -> None:
        if task.status != TaskStatus.COMPLETED:
            return
        status = WorkflowStatus(task.input_data["terminationStatus"])
        reason = task.input_data.get("terminationReason")
        if not isinstance(reason, str) or not reason.strip():
            reason = f"Workflow is {status.value} by TERMINATE task: {task.task_id}"
        outcome.end_workflow(decision, status, reason, output=dict(task.output_data))
