"""Pause, resume and remove workflows, one at a time or in bulk; retry and restart in bulk (REFERENCE §3.10,
§5.2, §5.4).

Pause and resume are plans from ``engine.lifecycle`` committed by ``apply_operation`` (version-checked,
retried on a lost race), with Conductor's answers for refused states: pausing a finished workflow is a 409,
resuming one that is not PAUSED a 409 too (Conductor's IllegalStateException, a 500 there: a refused
state change is the client's error, and a 5xx tells HTTP clients to try again). A resumed workflow gets a
decider message right away; a paused one needs none (its pending deadlines still wake it, and the decide
they cause schedules nothing while it stays PAUSED).

Bulk operations run each id on its own: a refused or unknown id lands in ``bulkErrorResults`` with its
message and does not stop the others. Resumed workflows are woken with one batched send at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from batonflow.engine.lifecycle import InvalidTransition, pause, resume
from batonflow.engine.plan import Plan
from batonflow.engine.state import WorkflowState
from batonflow.errors import BatonError, ConflictError, NotFoundError
from batonflow.model import BulkResponse
from batonflow.model.wire import DeciderReason
from batonflow.service.executor import Operation, apply_operation
from batonflow.service.runtime import Runtime
from batonflow.service.workflows import restart_workflow, retry_workflow, terminate_workflow


def _refused_as(error: type[BatonError], operation: Operation) -> Operation:
    """``operation`` with its InvalidTransition raised as ``error`` (the status Conductor answers)."""

    def guarded(state: WorkflowState, now: int) -> Plan:
        try:
            return operation(state, now)
        except InvalidTransition as refusal:
            raise error(str(refusal)) from refusal

    return guarded


_PAUSE = _refused_as(ConflictError, pause)
_RESUME = _refused_as(ConflictError, resume)


def pause_workflow(runtime: Runtime, workflow_id: str) -> None:
    apply_operation(runtime, workflow_id, _PAUSE)


def resume_workflow(runtime: Runtime, workflow_id: str) -> None:
    apply_operation(runtime, workflow_id, _RESUME, wakes=True)
    runtime.queues.wake_workflows([workflow_id], DeciderReason.API)


def remove_workflow(runtime: Runtime, workflow_id: str) -> None:
    """Delete the execution and its tasks, whatever its status (as Conductor does).

    SQS messages cannot be taken back, so its queued messages stay: decider and timer messages find nothing,
    a REST poll skips its task messages, but an SQS-native worker may still run one, and that result (like
    any later report of its tasks) is dropped as "Task not found".
    """
    if not runtime.executions.remove(workflow_id):
        raise NotFoundError(f"No such workflow found by id: {workflow_id}")


def terminate_and_remove_workflow(runtime: Runtime, workflow_id: str, reason: str | None) -> None:
    """Terminate (its children too, as any terminate), then remove; a COMPLETED workflow is refused (409)
    by the terminate and stays."""
    terminate_workflow(runtime, workflow_id, reason)
    remove_workflow(runtime, workflow_id)


def remove_workflows(runtime: Runtime, workflow_ids: Iterable[str]) -> BulkResponse:
    return _each(workflow_ids, lambda workflow_id: remove_workflow(runtime, workflow_id))


def terminate_and_remove_workflows(
    runtime: Runtime, workflow_ids: Iterable[str], reason: str | None
) -> BulkResponse:
    return _each(
        workflow_ids, lambda workflow_id: terminate_and_remove_workflow(runtime, workflow_id, reason)
    )


def pause_workflows(runtime: Runtime, workflow_ids: Iterable[str]) -> BulkResponse:
    return _each(workflow_ids, lambda workflow_id: pause_workflow(runtime, workflow_id))


def resume_workflows(runtime: Runtime, workflow_ids: Iterable[str]) -> BulkResponse:
    response = _each(
        workflow_ids, lambda workflow_id: apply_operation(runtime, workflow_id, _RESUME, wakes=True)
    )
    if response.bulk_successful_results:
        runtime.queues.wake_workflows(dict.fromkeys(response.bulk_successful_results), DeciderReason.API)
    return response


def terminate_workflows(runtime: Runtime, workflow_ids: Iterable[str], reason: str | None) -> BulkResponse:
    return _each(workflow_ids, lambda workflow_id: terminate_workflow(runtime, workflow_id, reason))


def retry_workflows(runtime: Runtime, workflow_ids: Iterable[str]) -> BulkResponse:
    """Retry each workflow (``resumeSubworkflowTasks`` is always false in bulk, as in Conductor)."""
    return _each(workflow_ids, lambda workflow_id: retry_workflow(runtime, workflow_id))


def restart_workflows(
    runtime: Runtime, workflow_ids: Iterable[str], *, use_latest_definitions: bool
) -> BulkResponse:
    return _each(
        workflow_ids,
        lambda workflow_id: restart_workflow(
            runtime, workflow_id, use_latest_definitions=use_latest_definitions
        ),
    )


def _each(workflow_ids: Iterable[str], action: Callable[[str], object]) -> BulkResponse:
    response = BulkResponse()
    for workflow_id in workflow_ids:
        try:
            action(workflow_id)
        except BatonError as error:
            response.bulk_error_results[workflow_id] = error.message
        else:
            response.bulk_successful_results.append(workflow_id)
    return response
