"""Re-open a finished workflow: ``POST /api/workflow/{id}/retry`` (REFERENCE §3.10), computed as a plan.

Retry picks up where the workflow failed: for every reference whose latest attempt FAILED, FAILED_WITH_
TERMINAL_ERROR, TIMED_OUT or was CANCELED, the type's own retry creates the next attempt (new id,
``retryCount + 1``, input resolved again, a new child for a SUB_WORKFLOW); tasks that wait on others
(JOIN, EXCLUSIVE_JOIN, DO_WHILE) and forks are re-opened in place instead, keeping their id and a loop its
iteration. The workflow becomes RUNNING again with ``lastRetriedTime = now`` (the workflow timeout counts
from there) and its reason cleared; the caller then wakes the decider.

Not supported: ``resumeSubworkflowTasks=true`` (retrying the deepest failed child instead): refused.
"""

from __future__ import annotations

from batonflow.engine.context import Decision
from batonflow.engine.operators import operator_for
from batonflow.engine.plan import Plan, WorkflowChange
from batonflow.engine.state import WorkflowState
from batonflow.errors import ConflictError, NotFoundError
from batonflow.model import Task, TaskStatus, WorkflowStatus

_RETRIED = (
    TaskStatus.FAILED,
    TaskStatus.FAILED_WITH_TERMINAL_ERROR,
    TaskStatus.TIMED_OUT,
    TaskStatus.CANCELED,
)
NOTHING_TO_RETRY = (
    "There are no retryable tasks! Use restart if you want to attempt entire workflow execution again."
)


def retry(state: WorkflowState, now: int) -> Plan:
    """Re-open a FAILED, TIMED_OUT or TERMINATED workflow at its unsuccessful tasks.

    Raises NotFoundError (404, Conductor's answer) for a workflow that has not finished and ConflictError
    (409) when there is nothing to retry.
    """
    workflow = state.workflow
    if not workflow.status.is_terminal:
        raise NotFoundError(f"Workflow is still running.  status={workflow.status.value}")
    decision = Decision(state, now, operator_for)
    if not decision.tasks():
        raise ConflictError(f"Workflow {workflow.workflow_id} has not started any task")
    decision.reopen(
        WorkflowChange(
            status=WorkflowStatus.RUNNING,
            end_time=0,
            last_retried_time=now,
            clear_reason=True,
            failed_reference_task_names=(),
            failed_task_names=(),
        )
    )
    unsuccessful = [task for task in decision.latest_attempts() if task.status in _RETRIED]
    if not unsuccessful and workflow.status != WorkflowStatus.TIMED_OUT:
        raise ConflictError(NOTHING_TO_RETRY)
    for task in unsuccessful:
        _reopen(decision, task)
    return decision.plan()


def _reopen(decision: Decision, task: Task) -> None:
    operator = decision.operator_of(task)
    if operator.retriable and operator.retry(decision, task, 0) is not None:
        decision.update_task(decision.task(task.task_id).model_copy(update={"retried": True}))
        return
    reopened = task.model_copy(
        update={
            "status": TaskStatus.IN_PROGRESS,
            "end_time": 0,
            "reason_for_incompletion": None,
            "update_time": decision.now,
        }
    )
    decision.update_task(reopened)
