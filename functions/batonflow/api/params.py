"""Reading requests the way Conductor's clients send them.

conductor-python sends booleans as ``True``/``False`` and ``None`` as the text ``None`` on POST/PUT/DELETE
(python-sdk-wire.md §3), path values percent-encoded with no safe characters, and ``{}`` bodies on DELETE.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from batonflow.errors import BadRequestError

_ABSENT = {"", "none", "null"}


def path_value(value: str) -> str:
    return unquote(value)


def query(router: BaseRouter, name: str) -> str | None:
    value = router.current_event.get_query_string_value(name)
    if value is None or value.strip().lower() in _ABSENT:
        return None
    return value


def query_bool(router: BaseRouter, name: str, default: bool) -> bool:
    value = query(router, name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise BadRequestError(f"Invalid boolean value for {name}: {value}")


def query_int(router: BaseRouter, name: str, default: int | None) -> int | None:
    value = query(router, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as error:
        raise BadRequestError(f"Invalid integer value for {name}: {value}") from error


def json_body(router: BaseRouter, *, default: Any = None) -> Any:
    """The parsed JSON body; ``default`` when empty; 400 for malformed JSON."""
    raw = router.current_event.decoded_body
    if raw is None or not raw.strip():
        return default
    try:
        return json.loads(raw)
    except ValueError as error:
        raise BadRequestError(f"Malformed JSON body: {error}") from error


def text_body(router: BaseRouter) -> str:
    return router.current_event.decoded_body or ""
