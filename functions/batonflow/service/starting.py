"""Building a workflow execution: its definition snapshot and input (REFERENCE §1.1, §2.6, §3.14).

Shared by the start API and by tasks that start workflows (SUB_WORKFLOW, START_WORKFLOW); writing it and
its first decide is ``service.executor.create_workflow``.
"""

from __future__ import annotations

from batonflow.engine.snapshot import embed_task_defs
from batonflow.errors import BadRequestError, NotFoundError, ValidationFailedError
from batonflow.model import StartWorkflowRequest, Workflow, WorkflowDef, WorkflowStatus
from batonflow.model.validation import validate_workflow_def
from batonflow.service.runtime import Runtime

START_GRACE_MS = 60_000
"""A new workflow's wake-up until its start's effects are done (its first decide's dispatches, or the
message that asks the decider for that decide): if the start dies first, the sweeper then wakes it."""


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


def new_execution(
    runtime: Runtime,
    request: StartWorkflowRequest,
    workflow_id: str,
    *,
    parent: tuple[str, str] | None = None,
) -> Workflow:
    """The execution a start request asks for, RUNNING, before its first decide (nothing is written)."""
    if request.input is None:
        raise BadRequestError("NULL input passed when starting workflow")
    definition = snapshot_definition(runtime, resolve_definition(runtime, request))
    workflow_input = dict(request.input)
    if workflow_input:
        for key, value in definition.input_template.items():
            workflow_input.setdefault(key, value)
    now = runtime.clock()
    return Workflow(
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
