"""Re-open a finished workflow: ``POST /api/workflow/{id}/retry``, ``/restart``, ``/rerun`` (REFERENCE §3.10).

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

Rerun (``POST /api/workflow/{id}/rerun``) is a restart that may keep part of the run. Without
``reRunFromTaskId`` it is a restart that keeps the creation time, with ``workflowInput`` and
``correlationId`` replacing the input and correlation id if given. With a task id, the attempts scheduled
after the target (higher ``seq``) are discarded and the target runs again; the rest of the run is kept.
The plan names what it discards (``NewRun.superseded``), so the header keeps them out of the workflow
even if their deletion after the commit is interrupted.

The target is run again as a fresh first attempt, not reset in place (Conductor keeps its id and
``retryCount``): its reference's attempts are discarded too and the run moves to a new generation, so the
flow schedules that reference like any other — a worker task is dispatched anew, a synchronous system task
runs again, a SUB_WORKFLOW starts a new child — under an id nothing stored has used. ``taskInput``, if
given, is that attempt's input as it is (``Decision.input_overrides``), in place of its resolved
``inputParameters``. Resetting in place was rejected: a stored task's input is written once, each type
would need its own way back to SCHEDULED, and a SUB_WORKFLOW's child id derives from the task id. The kept
attempts keep their older-generation ids; that is why the executor loads the whole workflow for every
decide once the generation is not 0 (a partial load walks the current generation's ids).

Kept tasks that wait on others (JOIN, EXCLUSIVE_JOIN, DO_WHILE) and have finished are re-opened
IN_PROGRESS so they wait for the re-run tasks, and kept unsuccessful attempts (another fork branch that
failed or was cancelled) are retried as by ``retry``. The workflow becomes RUNNING, reason and failed names
cleared, ``lastRetriedTime = now`` (Conductor leaves it, so an old workflow with a timeout times out again
at once); the caller then wakes the decider, which schedules what follows — including the other branch
heads and the JOIN of a kept static fork, when they were discarded for coming after the target (a fork's
successors are its branch heads and its JOIN, which exist already in any other case).

A child that runs again (retried, restarted or rerun) re-opens its parent (``resume_sub_workflow``), and
the service repeats that up the chain of parents. ``resumeSubworkflowTasks=true`` retries the deepest
failed child instead of the workflow (``failed_child`` finds the next one down).

Not supported: a rerun task id is not looked up in child workflows (Conductor searches them): it must be
a task of this workflow; a rerun from a task inside a DO_WHILE body or a dynamic fork's branch is refused
(``_check_rerun_target``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.definition_index import DefinitionIndex
from batonflow.engine.document import base_reference
from batonflow.engine.operators import operator_for
from batonflow.engine.plan import NewRun, Plan, Superseded, WorkflowChange
from batonflow.engine.state import WorkflowState
from batonflow.errors import BadRequestError, ConflictError, NotFoundError
from batonflow.model import RerunWorkflowRequest, Task, TaskStatus, Workflow, WorkflowDef, WorkflowStatus

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
    unsuccessful = _unsuccessful(decision)
    if not unsuccessful and workflow.status != WorkflowStatus.TIMED_OUT:
        raise ConflictError(NOTHING_TO_RETRY)
    _run_again(decision)
    for task in unsuccessful:
        _reopen(decision, task)
    return decision.plan()


def resume_sub_workflow(state: WorkflowState, now: int, task_id: str) -> Plan:
    """The child of SUB_WORKFLOW attempt ``task_id`` runs again (it was retried, restarted or rerun): the
    attempt waits for it again, IN_PROGRESS in place with the same child, and a finished workflow is
    re-opened as by ``retry`` — its other unsuccessful tasks too — so the child's outcome carries on
    through it (Conductor's ``updateAndPushParents``).

    Nothing changes (an empty plan) for an optional task (its failure did not stop the workflow), an
    attempt that is not its reference's latest (the workflow went on with a newer one) or one that waits
    already.
    """
    decision = Decision(state, now, operator_for)
    if not decision.has_task(task_id):
        return decision.plan()
    task = decision.task(task_id)
    optional = task.workflow_task is not None and task.workflow_task.optional
    latest = decision.latest(task.reference_task_name)
    if optional or task.status == TaskStatus.IN_PROGRESS or latest is None or latest.task_id != task_id:
        return decision.plan()
    if state.workflow.status.is_terminal:
        _run_again(decision)
        for other in _unsuccessful(decision):
            if other.task_id != task_id:
                _reopen(decision, other)
    decision.update_task(_in_progress(task, now))
    return decision.plan()


def failed_child(workflow: Workflow) -> str | None:
    """The child to retry instead of ``workflow`` under ``resumeSubworkflowTasks=true``: the child of its
    first unsuccessful task if that task has one, a SUB_WORKFLOW (Conductor looks no further than the
    first)."""
    latest: dict[str, Task] = {}
    for task in workflow.tasks:
        known = latest.get(task.reference_task_name)
        if known is None or (task.retry_count, task.seq) > (known.retry_count, known.seq):
            latest[task.reference_task_name] = task
    unsuccessful = sorted((t for t in latest.values() if t.status in _RETRIED), key=lambda t: t.seq)
    return unsuccessful[0].sub_workflow_id if unsuccessful else None


def _unsuccessful(decision: Decision) -> list[Task]:
    return [task for task in decision.latest_attempts() if task.status in _RETRIED]


def _run_again(decision: Decision) -> None:
    decision.reopen(
        WorkflowChange(
            status=WorkflowStatus.RUNNING,
            end_time=0,
            last_retried_time=decision.now,
            clear_reason=True,
            failed_reference_task_names=(),
            failed_task_names=(),
        )
    )


def _in_progress(task: Task, now: int) -> Task:
    return task.model_copy(
        update={
            "status": TaskStatus.IN_PROGRESS,
            "end_time": 0,
            "reason_for_incompletion": None,
            "update_time": now,
        }
    )


def _reopen(decision: Decision, task: Task) -> None:
    operator = decision.operator_of(task)
    if operator.retriable and operator.retry(decision, task, 0) is not None:
        decision.update_task(decision.task(task.task_id).model_copy(update={"retried": True}))
        return
    decision.update_task(_in_progress(task, decision.now))


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


def rerun(state: WorkflowState, now: int, request: RerunWorkflowRequest) -> Plan:
    """Run a finished workflow again, from its first task or from ``request.re_run_from_task_id``.

    Raises ConflictError (409) for a workflow that has not finished and BadRequestError (400) for a task
    id that is not one of its tasks.
    """
    workflow = state.workflow
    if not workflow.status.is_terminal:
        raise ConflictError(f"Workflow is still running.  status={workflow.status.value}")
    target = None
    if request.re_run_from_task_id is not None:
        target = next((t for t in workflow.tasks if t.task_id == request.re_run_from_task_id), None)
        if target is None:
            raise BadRequestError(f"Task {request.re_run_from_task_id} not found")
        _check_rerun_target(state, target)
    updates: dict[str, object] = {}
    if request.workflow_input is not None:
        updates["input"] = request.workflow_input
    if request.correlation_id is not None:
        updates["correlation_id"] = request.correlation_id
    generation = state.generation + 1
    rerunning = dataclasses.replace(
        state, generation=generation, workflow=workflow.model_copy(update=updates)
    )
    decision = Decision(rerunning, now, operator_for)
    decision.reopen(
        WorkflowChange(
            status=WorkflowStatus.RUNNING,
            output={},
            end_time=0,
            last_retried_time=now,
            clear_reason=True,
            failed_reference_task_names=(),
            failed_task_names=(),
        )
    )
    superseded = None
    if target is None:
        decision.remove_tasks([task.task_id for task in decision.tasks()])
        first_seq = decision.last_seq + 1
    else:
        superseded = Superseded(target.seq, decision.last_seq, target.reference_task_name)
        _rerun_from(decision, target, request.task_input)
        first_seq = state.first_seq
    new_run = NewRun(
        generation=generation,
        first_seq=first_seq,
        create_time=workflow.create_time,
        input=request.workflow_input,
        correlation_id=request.correlation_id,
        superseded=superseded,
    )
    return dataclasses.replace(decision.plan(), new_run=new_run, joins={})


def _check_rerun_target(state: WorkflowState, target: Task) -> None:
    """Refuse a target whose siblings were created with it by a task that is kept: a DO_WHILE iteration
    (the loop's iteration counter is not wound back) or a dynamic fork's branch (its branches come from
    its input). Rerunning from the loop or the fork itself is supported."""
    definition = state.workflow.workflow_definition
    assert definition is not None
    index = DefinitionIndex(definition)
    reference = base_reference(target.reference_task_name)
    if index.in_loop(reference) or index.slot(reference) is None:  # not in the definition: a forked task
        raise BadRequestError(
            f"Rerun from task {target.task_id} ({target.reference_task_name}) inside a DO_WHILE or a dynamic"
            " fork is not supported; rerun from the loop or the fork task instead"
        )


def _rerun_from(decision: Decision, target: Task, task_input: dict[str, Any] | None) -> None:
    """Discard ``target``'s reference and everything scheduled after it, re-open what is kept, and
    schedule the target's reference again (with ``task_input`` as its input if given)."""
    reference = target.reference_task_name
    decision.remove_tasks(
        [t.task_id for t in decision.tasks() if t.seq > target.seq or t.reference_task_name == reference]
    )
    for task in decision.latest_attempts():
        if decision.operator_of(task).waits_on_others and task.status.is_terminal:
            decision.update_task(
                task.model_copy(
                    update={
                        "status": TaskStatus.IN_PROGRESS,
                        "end_time": 0,
                        "reason_for_incompletion": None,
                        "update_time": decision.now,
                    }
                )
            )
        elif task.status in _RETRIED:
            _reopen(decision, task)
    if target.workflow_task is None:
        return  # nothing to schedule it from: the flow reaches it again
    if task_input is not None:
        decision.input_overrides[decision.new_task_id(reference, 0)] = task_input
    decision.schedule(target.workflow_task, 0)  # never in a loop (refused); a DO_WHILE's own count restarts
