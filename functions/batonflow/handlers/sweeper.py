"""Scheduled (every minute): wake workflows whose deadline passed without their timer firing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from batonflow.handlers import initialised
from batonflow.service.runtime import Runtime
from batonflow.service.timers import sweep

logger = Logger()
runtime = Runtime.from_env()
initialised()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return {"woken": sweep(runtime)}
