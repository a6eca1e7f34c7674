"""API Gateway (HTTP API) -> Conductor REST API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from batonflow.api.app import build_app
from batonflow.service.runtime import Runtime

logger = Logger()
app = build_app(Runtime.from_env())


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
