"""API Gateway (HTTP API) -> Conductor REST API."""

from __future__ import annotations

import re
from typing import Any

from batonflow.api.app import build_app
from batonflow.handlers import initialised
from batonflow.handlers.observability import instrument
from batonflow.service.runtime import Runtime

app = build_app(Runtime.from_env())
initialised()

_REPEATED_SLASHES = re.compile(r"/{2,}")


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(collapse_slashes(event), context)


def collapse_slashes(event: dict[str, Any]) -> dict[str, Any]:
    """The event with ``//`` in its path collapsed to ``/``.

    conductor-python joins its base URL and each path by concatenation, so a base URL ending in ``/`` sends
    ``/api//workflow/...`` (python-sdk-wire.md §2). API Gateway hands the path over as sent, in ``rawPath``
    and ``requestContext.http.path``, and the resolver would match no route.
    """
    raw_path = event.get("rawPath")
    if not isinstance(raw_path, str) or "//" not in raw_path:
        return event
    collapsed = {**event, "rawPath": _REPEATED_SLASHES.sub("/", raw_path)}
    http = event.get("requestContext", {}).get("http")
    if isinstance(http, dict) and isinstance(http.get("path"), str):
        request_context = {
            **event["requestContext"],
            "http": {**http, "path": _REPEATED_SLASHES.sub("/", http["path"])},
        }
        collapsed["requestContext"] = request_context
    return collapsed
