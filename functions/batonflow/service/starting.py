"""Creating a workflow execution: its definition snapshot, input and header (REFERENCE §1.1, §2.6, §3.14).

Shared by the start API and by tasks that start workflows (SUB_WORKFLOW, START_WORKFLOW).
"""

from __future__ import annotations

import logging
from typing import Any

from batonflow import metrics
from batonflow.engine.snapshot import embed_task_defs
from batonflow.errors import BadRequestError, NotFoundError, PayloadTooLargeError, ValidationFailedError
from batonflow.model import StartWorkflowRequest, Workflow, WorkflowDef, WorkflowStatus
from batonflow.model.validation import validate_workflow_def
from batonflow.model.wire import DeciderReason
from batonflow.service.runtime import Runtime
from batonflow.store import errors as store_errors

logger = logging.getLogger(__name__)

START_GRACE_MS = 60_000
"""A new workflow's first wake-up if its start message is lost: the sweeper then sends it again."""


def resolve_definition(runtime: Runtime, request: StartWorkflowRequest) -> WorkflowDef:
    if request.workflow_def is not None:
        problems = validate_workflow_def(request.workflow_def)
        if problems:
            raise ValidationFailedError([e.model_dump(by_alias=True, exclude_none=True) for e in problems])
        return request.workflow_def
    definition = runtime.definitions.get_workflow(request.name, request.version)
    if definition is None:
        raise NotFoundError(f"No such workflow defined. name={request.name}, version={request.version}")
    return definition


def snapshot_definition(runtime: Runtime, definition: WorkflowDef) -> WorkflowDef:
    """The definition with every task's TaskDef embedded; running executions keep this snapshot even if
    the definitions change later. Registered definitions are fetched in one batch."""
    names = [t.name for t in definition.all_tasks() if t.task_definition is None]
    registered = runtime.definitions.get_tasks(names)
    return embed_task_defs(definition, registered.get)


def create_workflow(
    runtime: Runtime,
    request: StartWorkflowRequest,
    workflow_id: str,
    *,
    parent: tuple[str, str] | None = None,
) -> None:
    """Write the execution's header and hand its first decide to the decider.

    Raises a ``store.errors.ConflictError`` if ``workflow_id`` exists already.
    """
    if request.input is None:
        raise BadRequestError("NULL input passed when starting workflow")
    definition = snapshot_definition(runtime, resolve_definition(runtime, request))
    workflow_input = dict(request.input)
    if workflow_input:
        for key, value in definition.input_template.items():
            workflow_input.setdefault(key, value)
    now = runtime.clock()
    workflow = Workflow(
        workflow_id=workflow_id,
        workflow_definition=definition,
        status=WorkflowStatus.RUNNING,
        input=workflow_input,
        variables=dict(definition.variables),
        correlation_id=request.correlation_id,
        priority=request.priority or 0,
        task_to_domain=request.task_to_domain or {},
        idempotency_key=request.idempotency_key,
        created_by=request.created_by,
        parent_workflow_id=parent[0] if parent else None,
        parent_workflow_task_id=parent[1] if parent else None,
        create_time=now,
        update_time=now,
    )
    runtime.executions.create(workflow, wake_at=now + START_GRACE_MS)
    runtime.queues.wake_workflows([workflow_id], DeciderReason.START)
    metrics.count(metrics.Metric.WORKFLOWS_STARTED)
    details: dict[str, Any] = {"workflowId": workflow_id, "workflowName": definition.name}
    if runtime.settings.log_payloads:
        details["input"] = workflow_input
    logger.info("workflow started", extra=details)


def start_for_task(
    runtime: Runtime, request: dict[str, Any], workflow_id: str, parent: tuple[str, str] | None
) -> str | None:
    """Start the workflow a task asked for (idempotent); returns why it could not start, or None."""
    try:
        parsed = StartWorkflowRequest.model_validate(request)
        create_workflow(runtime, parsed, workflow_id, parent=parent)
    except store_errors.ConflictError:
        # created already: this is a repeated effect, and the first try may have died between writing the
        # header and waking the decider, so wake it again (a decide of a started workflow changes nothing)
        runtime.queues.wake_workflows([workflow_id], DeciderReason.START)
        return None
    except (NotFoundError, BadRequestError, ValidationFailedError, PayloadTooLargeError) as error:
        return error.message
    except ValueError as error:
        return f"Invalid start request: {error}"
    return None
