"""Response helpers: Conductor answers ids as text/plain, models as JSON with nulls left out."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.to_conductor()  # type: ignore[attr-defined]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def json_response(value: Any, status: int = 200) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False),
    )


def text_response(text: str, status: int = 200) -> Response:
    return Response(status_code=status, content_type=content_types.TEXT_PLAIN, body=text)


def empty_response(status: int = 200) -> Response:
    return Response(status_code=status, content_type=content_types.TEXT_PLAIN, body="")
