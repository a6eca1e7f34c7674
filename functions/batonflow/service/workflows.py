"""Start, read and terminate workflows."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from batonflow.engine.ids import new_workflow_id
from batonflow.engine.lifecycle import InvalidTransition, terminate
from batonflow.engine.state import WorkflowState
from batonflow.errors import BadRequestError, ConflictError, NotFoundError, ValidationFailedError
from batonflow.model import (
    StartWorkflowRequest,
    TaskDef,
    TaskType,
    Workflow,
    WorkflowDef,
    WorkflowStatus,
    WorkflowTask,
)
from batonflow.model.validation import validate_workflow_def
from batonflow.model.wire import DeciderReason
from batonflow.service.runtime import Runtime
from batonflow.store import errors as store_errors

logger = logging.getLogger(__name__)

START_GRACE_MS = 60_000
"""A new workflow's first wake-up if its start message is lost: the sweeper then sends it again."""

_IDEMPOTENT_NAMESPACE = uuid.UUID("0b6f6d0e-8a43-4f4e-b6d1-0d6c3a3e9f11")


def resolve_definition(runtime: Runtime, request: StartWorkflowRequest) -> WorkflowDef:
    if request.workflow_def is not None:
        errors = validate_workflow_def(request.workflow_def)
        if errors:
            raise ValidationFailedError([e.model_dump(by_alias=True, exclude_none=True) for e in errors])
        return request.workflow_def
    definition = runtime.definitions.get_workflow(request.name, request.version)
    if definition is None:
        raise NotFoundError(f"No such workflow defined. name={request.name}, version={request.version}")
    return definition


def snapshot_definition(runtime: Runtime, definition: WorkflowDef) -> WorkflowDef:
    """The definition with every task's TaskDef embedded (REFERENCE §1.1, §1.5).

    Registered definitions are fetched in one batch; a task with neither an inline nor a registered
    definition gets an ad-hoc one (SIMPLE: Conductor's defaults; any other type: no retries, no response
    timeout). Running executions keep this snapshot even if the definitions change later.
    """
    tasks = list(definition.all_tasks())
    registered = runtime.definitions.get_tasks(t.name for t in tasks if t.task_definition is None)

    def embed(task: WorkflowTask) -> WorkflowTask:
        update: dict[str, Any] = {}
        if task.task_definition is None:
            found = registered.get(task.name)
            if found is None:
                found = TaskDef(name=task.name)
                if task.type != TaskType.SIMPLE:
                    found = found.model_copy(update={"retry_count": 0, "response_timeout_seconds": 0})
            update["task_definition"] = found
        if task.decision_cases:
            update["decision_cases"] = {k: [embed(t) for t in v] for k, v in task.decision_cases.items()}
        if task.default_case:
            update["default_case"] = [embed(t) for t in task.default_case]
        if task.fork_tasks:
            update["fork_tasks"] = [[embed(t) for t in branch] for branch in task.fork_tasks]
        if task.loop_over:
            update["loop_over"] = [embed(t) for t in task.loop_over]
        return task.model_copy(update=update) if update else task

    return definition.model_copy(update={"tasks": [embed(t) for t in definition.tasks]})


def start_workflow(runtime: Runtime, request: StartWorkflowRequest) -> str:
    """Create the execution and hand it to the decider; returns the workflow id."""
    if request.input is None:
        raise BadRequestError("NULL input passed when starting workflow")
    definition = snapshot_definition(runtime, resolve_definition(runtime, request))
    workflow_input = dict(request.input)
    if workflow_input:
        for key, value in definition.input_template.items():
            workflow_input.setdefault(key, value)
    now = runtime.clock()
    workflow_id = _workflow_id(request)
    workflow = Workflow(
        workflow_id=workflow_id,
        workflow_name=definition.name,
        workflow_version=definition.version,
        workflow_definition=definition,
        status=WorkflowStatus.RUNNING,
        input=workflow_input,
        variables=dict(definition.variables),
        correlation_id=request.correlation_id,
        priority=request.priority or 0,
        task_to_domain=request.task_to_domain,
        idempotency_key=request.idempotency_key,
        created_by=request.created_by,
        create_time=now,
        update_time=now,
    )
    try:
        runtime.executions.create(workflow, wake_at=now + START_GRACE_MS)
    except store_errors.ConflictError as error:
        return _existing_for_idempotency_key(runtime, request, workflow_id, error)
    runtime.queues.wake_workflows([workflow_id], DeciderReason.START)
    logger.info("workflow started", extra={"workflowId": workflow_id, "workflowName": definition.name})
    return workflow_id


def _workflow_id(request: StartWorkflowRequest) -> str:
    """Random, or derived from ``idempotencyKey`` so a repeated start finds the first execution."""
    if not request.idempotency_key:
        return new_workflow_id()
    return str(uuid.uuid5(_IDEMPOTENT_NAMESPACE, f"{request.name}\x00{request.idempotency_key}"))


def _existing_for_idempotency_key(
    runtime: Runtime, request: StartWorkflowRequest, workflow_id: str, error: Exception
) -> str:
    """Conductor OSS ignores idempotencyKey (a bug users trip over); Baton honours it, Orkes-style."""
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
    for _ in range(8):
        loaded = runtime.executions.load(workflow_id)
        if loaded is None:
            raise NotFoundError(f"No such workflow found by id: {workflow_id}")
        now = runtime.clock()
        state = WorkflowState(workflow=loaded.workflow, generation=loaded.header.generation)
        try:
            plan = terminate(state, reason, now)
        except InvalidTransition as error:
            raise ConflictError(str(error)) from error
        if plan.is_empty:
            return
        try:
            runtime.executions.commit(loaded, plan, now, outbox=[])
        except store_errors.ConflictError:
            continue
        return
    raise ConflictError(f"workflow {workflow_id} is changing too fast to terminate; try again")
