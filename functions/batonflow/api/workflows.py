"""``/api/workflow``: start, read, terminate (REFERENCE §5.2)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from batonflow.api.params import json_body, path_value, query, query_bool, query_int
from batonflow.api.responses import empty_response, json_response, text_response
from batonflow.errors import BadRequestError
from batonflow.model import StartWorkflowRequest
from batonflow.service import workflows
from batonflow.service.metadata import parse
from batonflow.service.runtime import Runtime

_MISSING = object()


def workflow_router(runtime: Runtime) -> Router:
    router = Router()

    @router.post("/api/workflow")
    def start() -> Response:
        body = json_body(router)
        if isinstance(body, dict) and "input" in body and body["input"] is None:
            raise BadRequestError("NULL input passed when starting workflow")
        request = parse(StartWorkflowRequest, body, "startWorkflowRequest")
        return text_response(workflows.start_workflow(runtime, request))

    @router.post("/api/workflow/<name>")
    def start_by_name(name: str) -> Response:
        body = json_body(router, default=_MISSING)
        if body is None:
            raise BadRequestError("NULL input passed when starting workflow")
        if body is not _MISSING and not isinstance(body, dict):
            raise BadRequestError("workflow input must be a JSON object")
        request = StartWorkflowRequest(
            name=path_value(name),
            version=query_int(router, "version", None),
            correlation_id=query(router, "correlationId"),
            priority=query_int(router, "priority", 0),
            input={} if body is _MISSING else body,
        )
        return text_response(workflows.start_workflow(runtime, request))

    @router.get("/api/workflow/<workflow_id>")
    def get(workflow_id: str) -> Response:
        include_tasks = query_bool(router, "includeTasks", True)
        return json_response(
            workflows.get_workflow(runtime, path_value(workflow_id), include_tasks=include_tasks)
        )

    @router.get("/api/workflow/<workflow_id>/status")
    def status(workflow_id: str) -> Response:
        workflow = workflows.get_workflow(runtime, path_value(workflow_id), include_tasks=False)
        body: dict[str, object] = {"workflowId": workflow.workflow_id, "status": workflow.status.value}
        if workflow.correlation_id is not None:
            body["correlationId"] = workflow.correlation_id
        if query_bool(router, "includeOutput", False):
            body["output"] = workflow.output
        if query_bool(router, "includeVariables", False):
            body["variables"] = workflow.variables
        return json_response(body)

    @router.delete("/api/workflow/<workflow_id>")
    def terminate(workflow_id: str) -> Response:
        workflows.terminate_workflow(runtime, path_value(workflow_id), query(router, "reason"))
        return empty_response()

    return router
