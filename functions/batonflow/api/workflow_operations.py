"""``/api/workflow/{id}/...`` operations that re-open a finished workflow (REFERENCE §3.10, §5.2)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from batonflow.api.params import path_value, query_bool
from batonflow.api.responses import empty_response
from batonflow.service import workflows
from batonflow.service.runtime import Runtime


def workflow_operations_router(runtime: Runtime) -> Router:
    router = Router()

    @router.post("/api/workflow/<workflow_id>/retry")
    def retry(workflow_id: str) -> Response:
        resume = query_bool(router, "resumeSubworkflowTasks", False)
        workflows.retry_workflow(runtime, path_value(workflow_id), resume_subworkflow_tasks=resume)
        return empty_response(204)

    return router
