"""Start, read, terminate, retry, restart, rerun workflows and skip their tasks (the REST API's use cases)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from batonflow.engine import reopen, skip
from batonflow.engine.ids import new_workflow_id
from batonflow.engine.lifecycle import InvalidTransition, terminate
from batonflow.engine.plan import Plan
from batonflow.engine.state import WorkflowState
from batonflow.errors import ConflictError, NotFoundError
from batonflow.model import RerunWorkflowRequest, StartWorkflowRequest, Workflow, WorkflowStatus
from batonflow.model.wire import DeciderReason
from batonflow.service.executor import Operation, apply_operation, create_workflow
from batonflow.service.runtime import Runtime
from batonflow.service.starting import snapshot_definition
from batonflow.store import errors as store_errors

logger = logging.getLogger(__name__)

_IDEMPOTENT_NAMESPACE = uuid.UUID("0b6f6d0e-8a43-4f4e-b6d1-0d6c3a3e9f11")


def start_workflow(runtime: Runtime, request: StartWorkflowRequest) -> str:
    """Create the execution and run its first decide; returns the workflow id."""
    workflow_id = _workflow_id(request)
    if request.idempotency_key:
        runtime.executions.clear_expired(workflow_id)
    try:
        create_workflow(runtime, request, workflow_id)
    except store_errors.ConflictError as error:
        return _existing_for_idempotency_key(runtime, request, workflow_id, error)
    return workflow_id


def _workflow_id(request: StartWorkflowRequest) -> str:
    """Random, or derived from ``idempotencyKey`` so a repeated start finds the first execution."""
    if not request.idempotency_key:
        return new_workflow_id()
    return str(uuid.uuid5(_IDEMPOTENT_NAMESPACE, f"{request.name}\x00{request.idempotency_key}"))


def _existing_for_idempotency_key(
    runtime: Runtime, request: StartWorkflowRequest, workflow_id: str, error: Exception
) -> str:
    """Conductor OSS ignores idempotencyKey (a bug users trip over); Baton honours it, Orkes-style.

    A repeated start is often a client's retry after an error, and the first start may have failed between
    writing the header and its effects (a throttled send), so the existing execution is woken again: the
    decide repeats those effects if the start did not confirm them, and otherwise changes nothing, where
    the workflow would wait for the sweeper.
    """
    runtime.queues.wake_workflows([workflow_id], DeciderReason.START)
    strategy = (request.idempotency_strategy or "FAIL").upper()
    if strategy == "RETURN_EXISTING":
        return workflow_id
    if strategy == "FAIL_ON_RUNNING":
        existing = runtime.executions.load(workflow_id, include_tasks=False)
        if existing is not None and existing.header.workflow.status.is_terminal:
            return start_workflow(runtime, request.model_copy(update={"idempotency_key": None}))
    raise ConflictError(
        f"Workflow with idempotencyKey {request.idempotency_key} already exists: {workflow_id}"
    ) from error


def get_workflow(runtime: Runtime, workflow_id: str, *, include_tasks: bool = True) -> Workflow:
    loaded = runtime.executions.load(workflow_id, include_tasks=include_tasks)
    if loaded is None:
        raise NotFoundError(f"No such workflow found by id: {workflow_id}")
    return loaded.workflow


def terminate_workflow(runtime: Runtime, workflow_id: str, reason: str | None) -> None:
    def operation(state: WorkflowState, now: int) -> Plan:
        try:
            return terminate(state, reason, now)
        except InvalidTransition as error:
            raise ConflictError(str(error)) from error

    apply_operation(runtime, workflow_id, operation)


def retry_workflow(runtime: Runtime, workflow_id: str, *, resume_subworkflow_tasks: bool = False) -> None:
    """Re-open a finished workflow at its unsuccessful tasks (``engine.reopen``) and let it run on.

    ``resume_subworkflow_tasks``: retry the deepest failed child instead, and re-open the workflows above
    it. If that child runs already (it was retried before and its parents were not re-opened: a crash
    in between), only its parents are re-opened — asking again repairs the chain.
    """
    if not resume_subworkflow_tasks:
        _reopen(runtime, workflow_id, reopen.retry)
        return
    target = _deepest_failed(runtime, workflow_id)
    if target.status.is_terminal:
        _reopen(runtime, target.workflow_id or "", reopen.retry)
    else:
        _resume_parents(runtime, target)


def restart_workflow(runtime: Runtime, workflow_id: str, *, use_latest_definitions: bool = False) -> None:
    """Run a finished workflow again from its first task (``engine.reopen``), optionally on the latest
    version of its definition."""
    definition = None
    if use_latest_definitions:
        name = get_workflow(runtime, workflow_id, include_tasks=False).workflow_name or ""
        latest = runtime.definitions.get_workflow(name)
        if latest is None:
            raise NotFoundError(f"No such workflow definition: {name}")
        definition = snapshot_definition(runtime, latest)
    _reopen(runtime, workflow_id, lambda state, now: reopen.restart(state, now, definition=definition))


def rerun_workflow(runtime: Runtime, workflow_id: str, request: RerunWorkflowRequest) -> str:
    """Run a finished workflow again from its first task or from a given task (``engine.reopen``);
    returns the workflow id (``reRunFromWorkflowId`` is ignored: the path names the workflow)."""
    _reopen(runtime, workflow_id, lambda state, now: reopen.rerun(state, now, request))
    return workflow_id


def _reopen(runtime: Runtime, workflow_id: str, operation: Operation) -> None:
    """Apply a re-opening operation, wake the workflow, then re-open its parents, if it is a child."""
    before: list[Workflow] = []

    def reopening(state: WorkflowState, now: int) -> Plan:
        before.append(state.workflow)
        return operation(state, now)

    apply_operation(runtime, workflow_id, reopening, wakes=True)
    runtime.queues.wake_workflows([workflow_id], DeciderReason.API)
    _resume_parents(runtime, before[-1])


def _resume_parents(runtime: Runtime, child: Workflow) -> None:
    """Each parent up the chain waits for its running child again (``reopen.resume_sub_workflow``).

    The child is re-opened before its parents, as Conductor does: a crash in between leaves a parent
    finished while its child runs, which ``retry?resumeSubworkflowTasks=true`` on the parent repairs.
    """
    current: Workflow | None = child
    while current is not None and current.parent_workflow_id and current.parent_workflow_task_id:
        current = _resume_parent(runtime, current.parent_workflow_id, current.parent_workflow_task_id)


def _resume_parent(runtime: Runtime, parent_id: str, task_id: str) -> Workflow | None:
    """Re-open one parent for its child's task; the parent (as it was) if it changed, else None."""
    parent: list[Workflow] = []

    def resume(state: WorkflowState, now: int) -> Plan:
        parent.append(state.workflow)
        return reopen.resume_sub_workflow(state, now, task_id)

    try:
        plan = apply_operation(runtime, parent_id, resume, wakes=True)
    except NotFoundError:
        logger.info("parent workflow %s is gone", parent_id)
        return None
    if plan.is_empty:
        return None
    runtime.queues.wake_workflows([parent_id], DeciderReason.API)
    return parent[-1]


def _deepest_failed(runtime: Runtime, workflow_id: str) -> Workflow:
    """The workflow ``resumeSubworkflowTasks=true`` retries: down from ``workflow_id`` through the child
    of each first unsuccessful task, while that child did not complete."""
    workflow = get_workflow(runtime, workflow_id)
    if not workflow.status.is_terminal:
        raise NotFoundError(f"Workflow is still running.  status={workflow.status.value}")
    while True:
        child_id = reopen.failed_child(workflow)
        loaded = runtime.executions.load(child_id) if child_id else None
        if loaded is None or loaded.workflow.status == WorkflowStatus.COMPLETED:
            return workflow
        workflow = loaded.workflow
        if not workflow.status.is_terminal:
            return workflow


def skip_task(
    runtime: Runtime,
    workflow_id: str,
    reference: str,
    *,
    task_input: dict[str, Any] | None = None,
    task_output: dict[str, Any] | None = None,
) -> None:
    """Let the flow jump over a task it has not reached yet (``engine.skip``)."""
    apply_operation(
        runtime,
        workflow_id,
        lambda state, now: skip.skip_task(
            state, now, reference, task_input=task_input, task_output=task_output
        ),
        wakes=True,
    )
    runtime.queues.wake_workflows([workflow_id], DeciderReason.API)
