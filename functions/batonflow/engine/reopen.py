"""Re-open a finished workflow: ``POST /api/workflow/{id}/retry`` and ``/restart`` (REFERENCE §3.10).

Retry picks up where the workflow failed: for every reference whose latest attempt FAILED, FAILED_WITH_
TERMINAL_ERROR, TIMED_OUT or was CANCELED, the type's own retry creates the next attempt (new id,
``retryCount + 1``, input resolved again, a new child for a SUB_WORKFLOW); tasks that wait on others
(JOIN, EXCLUSIVE_JOIN, DO_WHILE) and forks are re-opened in place instead, keeping their id and a loop its
iteration. The workflow becomes RUNNING again with ``lastRetriedTime = now`` (the workflow timeout counts
from there) and its reason cleared; the caller then wakes the decider.

Restart runs the workflow again from its first task under the same id: every attempt of the earlier run
is discarded (the header marks where the new run's ``seq`` begins, so they stop counting at the commit, and
the items are deleted right after), task ids change (a new generation), input, correlation id and the
variables left by the last run are kept, and the definition snapshot is replaced if asked to.

Not supported: ``resumeSubworkflowTasks=true`` (retrying the deepest failed child instead): refused.
"""

from __future__ import annotations

import dataclasses

from batonflow.engine.context import Decision
from batonflow.engine.operators import operator_for
from batonflow.engine.plan import NewRun, Plan, WorkflowChange
from batonflow.engine.state import WorkflowState
from batonflow.errors import ConflictError, NotFoundError
from batonflow.model import Task, TaskStatus, WorkflowDef, WorkflowStatus

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


def restart(state: WorkflowState, now: int, *, definition: WorkflowDef | None = None) -> Plan:
    """Run a finished workflow again from the start; ``definition`` replaces the snapshot if given.

    Raises ConflictError (409) for a workflow that has not finished and NotFoundError (404) for a
    COMPLETED one whose definition says ``restartable: false``.
    """
    workflow = state.workflow
    if not workflow.status.is_terminal:
        raise ConflictError(f"Workflow is still running.  status={workflow.status.value}")
    snapshot = workflow.workflow_definition
    if workflow.status == WorkflowStatus.COMPLETED and snapshot is not None and not snapshot.restartable:
        raise NotFoundError(f"Workflow {workflow.workflow_id} is not restartable")
    decision = Decision(state, now, operator_for)
    earlier = [task.task_id for task in decision.tasks()]
    decision.remove_tasks(earlier)
    decision.reopen(
        WorkflowChange(
            status=WorkflowStatus.RUNNING,
            output={},
            end_time=0,
            last_retried_time=0,
            clear_reason=True,
            failed_reference_task_names=(),
            failed_task_names=(),
        )
    )
    new_run = NewRun(
        generation=state.generation + 1,
        first_seq=decision.last_seq + 1,
        create_time=now,
        definition=definition,
    )
    return dataclasses.replace(decision.plan(), new_run=new_run, joins={})
