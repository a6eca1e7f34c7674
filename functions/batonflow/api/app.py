"""The API function's resolver: routers for each Conductor resource and one error renderer."""

from __future__ import annotations

import logging

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from botocore.exceptions import ClientError

from batonflow.api.auth import token_authority, token_check, token_router
from batonflow.api.console import console_router
from batonflow.api.errors import error_response, render, render_aws_refusal
from batonflow.api.metadata import task_def_router, workflow_def_router
from batonflow.api.responses import json_response
from batonflow.api.tasks import task_router
from batonflow.api.workflow_lifecycle import workflow_lifecycle_router
from batonflow.api.workflow_lookups import workflow_lookups_router
from batonflow.api.workflow_operations import workflow_operations_router
from batonflow.api.workflows import workflow_router
from batonflow.errors import BatonError
from batonflow.service.runtime import Runtime

logger = logging.getLogger(__name__)


def build_app(runtime: Runtime) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    app.include_router(task_def_router(runtime))
    app.include_router(workflow_def_router(runtime))
    app.include_router(workflow_lookups_router(runtime))
    app.include_router(workflow_router(runtime))
    app.include_router(workflow_operations_router(runtime))
    app.include_router(workflow_lifecycle_router(runtime))
    app.include_router(task_router(runtime))
    app.include_router(console_router())
    authority = token_authority(runtime.settings, runtime.app_keys, runtime.clock)
    if authority is not None:  # not KEY: no /api/token route, so it answers 404 (open mode for the SDK)
        app.include_router(token_router(authority))
        app.use(middlewares=[token_check(authority)])

    @app.get("/health")
    @app.get("/api/health")
    def health() -> Response:
        return json_response({"healthy": True})

    @app.exception_handler(BatonError)
    def baton_error(error: BatonError) -> Response:
        return render(error)

    @app.not_found
    def not_found(_: RouteNotFound) -> Response:
        return error_response(404, f"No route for {app.current_event.http_method} {app.current_event.path}")

    @app.exception_handler(ClientError)
    def aws_refused(error: ClientError) -> Response:
        throttled = render_aws_refusal(error)
        if throttled is not None:
            logger.warning("AWS throttled a request past its retries: %s", error)
            return throttled
        return unexpected(error)

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, f"Internal error: {type(error).__name__}", retryable=True)

    return app
