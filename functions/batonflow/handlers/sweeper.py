"""Scheduled (every minute): wake workflows whose deadline passed without their timer firing."""

from __future__ import annotations

from typing import Any

from batonflow.handlers import initialised
from batonflow.handlers.observability import instrument
from batonflow.service.runtime import Runtime
from batonflow.service.timers import sweep

runtime = Runtime.from_env()
initialised()


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return {"woken": sweep(runtime)}
