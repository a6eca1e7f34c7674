"""Pause, resume, remove and terminate-remove: ``/api/workflow/{id}/...``; those and retry, restart,
terminate in bulk: ``/api/workflow/bulk/...`` (REFERENCE §5.2, §5.4).

The bulk routes are literal paths, which the resolver matches before ``/api/workflow/<id>/...``.
``archiveWorkflow`` on remove is accepted and has no effect: Baton keeps no separate archive or index,
so a removed workflow is gone either way (Conductor's default, ``true``, only keeps it in its index).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router

from batonflow.api.params import json_body, path_value, query, query_bool
from batonflow.api.responses import empty_response, json_response
from batonflow.errors import BadRequestError, ValidationFailedError
from batonflow.service import lifecycle
from batonflow.service.runtime import Runtime

MAX_BULK_IDS = 1000


def workflow_lifecycle_router(runtime: Runtime) -> Router:
    router = Router()

    @router.put("/api/workflow/bulk/pause")
    def bulk_pause() -> Response:
        return json_response(lifecycle.pause_workflows(runtime, _workflow_ids(router, "pauseWorkflow")))

    @router.put("/api/workflow/bulk/resume")
    def bulk_resume() -> Response:
        return json_response(lifecycle.resume_workflows(runtime, _workflow_ids(router, "resumeWorkflow")))

    @router.post("/api/workflow/bulk/terminate")
    def bulk_terminate() -> Response:
        workflow_ids = _workflow_ids(router, "terminate")
        return json_response(lifecycle.terminate_workflows(runtime, workflow_ids, query(router, "reason")))

    @router.post("/api/workflow/bulk/retry")
    def bulk_retry() -> Response:
        return json_response(lifecycle.retry_workflows(runtime, _workflow_ids(router, "retry")))

    @router.post("/api/workflow/bulk/restart")
    def bulk_restart() -> Response:
        workflow_ids = _workflow_ids(router, "restart")
        latest = query_bool(router, "useLatestDefinitions", False)
        return json_response(
            lifecycle.restart_workflows(runtime, workflow_ids, use_latest_definitions=latest)
        )

    @router.delete("/api/workflow/bulk/remove")
    def bulk_remove() -> Response:
        return json_response(lifecycle.remove_workflows(runtime, _workflow_ids(router, "removeWorkflow")))

    @router.delete("/api/workflow/bulk/terminate-remove")
    def bulk_terminate_remove() -> Response:
        workflow_ids = _workflow_ids(router, "terminateRemove")
        reason = query(router, "reason")
        return json_response(lifecycle.terminate_and_remove_workflows(runtime, workflow_ids, reason))

    @router.put("/api/workflow/<workflow_id>/pause")
    def pause(workflow_id: str) -> Response:
        lifecycle.pause_workflow(runtime, path_value(workflow_id))
        return empty_response()

    @router.put("/api/workflow/<workflow_id>/resume")
    def resume(workflow_id: str) -> Response:
        lifecycle.resume_workflow(runtime, path_value(workflow_id))
        return empty_response()

    @router.delete("/api/workflow/<workflow_id>/remove")
    def remove(workflow_id: str) -> Response:
        lifecycle.remove_workflow(runtime, path_value(workflow_id))
        return empty_response()

    @router.delete("/api/workflow/<workflow_id>/terminate-remove")
    def terminate_remove(workflow_id: str) -> Response:
        lifecycle.terminate_and_remove_workflow(runtime, path_value(workflow_id), query(router, "reason"))
        return empty_response()

    return router


def _workflow_ids(router: BaseRouter, method: str) -> list[str]:
    """The body of a bulk call: 1 to 1,000 ids, refused as Conductor's bean validation does."""
    body = json_body(router)
    if body is not None and not (isinstance(body, list) and all(isinstance(i, str) for i in body)):
        raise BadRequestError("The body must be a JSON array of workflow ids")
    path = f"{method}.workflowIds"
    if not body:
        raise ValidationFailedError([{"path": path, "message": "WorkflowIds list cannot be null."}])
    if len(body) > MAX_BULK_IDS:
        message = f"Cannot process more than {MAX_BULK_IDS} workflows. Please use multiple requests."
        raise ValidationFailedError([{"path": path, "message": message}])
    return body
