"""``/api/metadata``: task and workflow definitions (REFERENCE §5.1)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from batonflow.api.params import json_body, path_value, query_bool, query_int
from batonflow.api.responses import empty_response, json_response
from batonflow.errors import BadRequestError
from batonflow.service import metadata
from batonflow.service.runtime import Runtime


def task_def_router(runtime: Runtime) -> Router:
    router = Router()

    @router.post("/api/metadata/taskdefs")
    def register_task_defs() -> Response:
        metadata.register_task_defs(runtime, json_body(router))
        return empty_response()

    @router.put("/api/metadata/taskdefs")
    def update_task_def() -> Response:
        metadata.update_task_def(runtime, json_body(router))
        return empty_response()

    @router.get("/api/metadata/taskdefs")
    def list_task_defs() -> Response:
        return json_response(runtime.definitions.list_tasks())

    @router.get("/api/metadata/taskdefs/<name>")
    def get_task_def(name: str) -> Response:
        return json_response(metadata.get_task_def(runtime, path_value(name)))

    @router.delete("/api/metadata/taskdefs/<name>")
    def delete_task_def(name: str) -> Response:
        metadata.delete_task_def(runtime, path_value(name))
        return empty_response()

    return router


def workflow_def_router(runtime: Runtime) -> Router:
    router = Router()

    @router.post("/api/metadata/workflow")
    def register_workflow_def() -> Response:
        overwrite = query_bool(router, "overwrite", False)
        metadata.register_workflow_def(runtime, json_body(router), overwrite=overwrite)
        return empty_response()

    @router.put("/api/metadata/workflow")
    def upsert_workflow_defs() -> Response:
        return json_response(metadata.upsert_workflow_defs(runtime, json_body(router)))

    @router.post("/api/metadata/workflow/validate")
    def validate_workflow_def() -> Response:
        metadata.parse_workflow_def(json_body(router))
        return empty_response()

    @router.get("/api/metadata/workflow")
    def list_workflow_defs() -> Response:
        return json_response(runtime.definitions.list_workflows())

    @router.get("/api/metadata/workflow/<name>")
    def get_workflow_def(name: str) -> Response:
        version = query_int(router, "version", None)
        return json_response(metadata.get_workflow_def(runtime, path_value(name), version))

    @router.delete("/api/metadata/workflow/<name>/<version>")
    def delete_workflow_def(name: str, version: str) -> Response:
        try:
            number = int(path_value(version))
        except ValueError as error:
            raise BadRequestError(f"Invalid version: {version}") from error
        metadata.delete_workflow_def(runtime, path_value(name), number)
        return empty_response()

    return router
