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


MAX_JSON_DEPTH = 100
"""Deepest nesting a request's JSON may have. Conductor's Jackson allows 1000, but Baton walks payloads
recursively (validation, expressions, storage) within Python's 1000-frame recursion limit; 100 levels
leave that room and are far beyond what workflows and their payloads use."""


def json_body(router: BaseRouter, *, default: Any = None) -> Any:
    """The parsed JSON body; ``default`` when empty; 400 for malformed or too deeply nested JSON."""
    raw = router.current_event.decoded_body
    if raw is None or not raw.strip():
        return default
    return parse_json(raw, "JSON body")


def parse_json(raw: str, what: str) -> Any:
    """``raw`` parsed; 400 naming ``what`` if it is not JSON or nests deeper than ``MAX_JSON_DEPTH``."""
    try:
        value = json.loads(raw)
    except RecursionError as error:
        raise BadRequestError(f"The {what} nests deeper than {MAX_JSON_DEPTH} levels") from error
    except ValueError as error:
        raise BadRequestError(f"Malformed {what}: {error}") from error
    if _depth(value) > MAX_JSON_DEPTH:
        raise BadRequestError(f"The {what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (a scalar is 0, ``[]`` and ``{}`` are 1)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        pending.extend((child, depth + 1) for child in children)
    return deepest


def text_body(router: BaseRouter) -> str:
    return router.current_event.decoded_body or ""
