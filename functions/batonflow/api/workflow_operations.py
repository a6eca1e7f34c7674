"""Workflow operations beyond start/read/terminate: re-open a finished workflow, skip a task, execute
synchronously (REFERENCE §3.10, §5.2)."""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from batonflow.api.params import json_body, parse_json, path_value, query, query_bool, query_int
from batonflow.api.responses import empty_response, json_response, text_response
from batonflow.errors import BadRequestError
from batonflow.model import RerunWorkflowRequest, StartWorkflowRequest
from batonflow.service import executing, workflows
from batonflow.service.metadata import parse
from batonflow.service.runtime import Runtime


def workflow_operations_router(runtime: Runtime) -> Router:
    router = Router()

    @router.post("/api/workflow/<workflow_id>/retry")
    def retry(workflow_id: str) -> Response:
        resume = query_bool(router, "resumeSubworkflowTasks", False)
        workflows.retry_workflow(runtime, path_value(workflow_id), resume_subworkflow_tasks=resume)
        return empty_response(204)

    @router.post("/api/workflow/<workflow_id>/restart")
    def restart(workflow_id: str) -> Response:
        latest = query_bool(router, "useLatestDefinitions", False)
        workflows.restart_workflow(runtime, path_value(workflow_id), use_latest_definitions=latest)
        return empty_response(204)

    @router.post("/api/workflow/<workflow_id>/rerun")
    def rerun(workflow_id: str) -> Response:
        request = parse(RerunWorkflowRequest, json_body(router), "rerunWorkflowRequest")
        return text_response(workflows.rerun_workflow(runtime, path_value(workflow_id), request))

    @router.post("/api/workflow/execute/<name>/<version>")
    def execute(name: str, version: str) -> Response:
        """Start and wait (``requestId``, ``waitUntilTaskRef`` comma list, ``waitForSeconds``)."""
        body = json_body(router, default={})
        if not isinstance(body, dict):
            raise BadRequestError("the body must be a StartWorkflowRequest object")
        if not version.isdigit():
            raise BadRequestError(f"version must be a number: {version}")
        fields = {**body, "name": path_value(name), "version": int(version) or None}
        request = parse(StartWorkflowRequest, fields, "startWorkflowRequest")
        refs = [ref.strip() for ref in (query(router, "waitUntilTaskRef") or "").split(",") if ref.strip()]
        run = executing.execute_workflow(
            runtime,
            request,
            request_id=query(router, "requestId") or str(uuid.uuid4()),
            wait_until=refs,
            wait_seconds=query_int(router, "waitForSeconds", executing.DEFAULT_WAIT_S) or 0,
        )
        return json_response(run)

    @router.put("/api/workflow/<workflow_id>/skiptask/<reference>")
    def skip_task(workflow_id: str, reference: str) -> Response:
        """``taskInput``/``taskOutput`` as JSON query parameters (what Conductor binds) or in a JSON body;
        conductor-python's ``skipTaskRequest`` (a Python repr) is ignored, as Conductor does."""
        body = json_body(router, default={})
        given = body if isinstance(body, dict) else {}
        workflows.skip_task(
            runtime,
            path_value(workflow_id),
            path_value(reference),
            task_input=_json_map(router, "taskInput", given),
            task_output=_json_map(router, "taskOutput", given),
        )
        return empty_response()

    return router


def _json_map(router: Router, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
    raw = query(router, name)
    value = body.get(name) if raw is None else parse_json(raw, name)
    if value is not None and not isinstance(value, dict):
        raise BadRequestError(f"{name} must be a JSON object")
    return value
