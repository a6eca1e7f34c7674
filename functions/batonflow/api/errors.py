"""Every error leaves the API as Conductor's error JSON: ``{status, message, instance, retryable}`` (+
``validationErrors`` for 400s from validation). One renderer for the whole error tree."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from botocore.exceptions import ClientError
from pydantic import ValidationError

from batonflow.errors import BatonError, UnauthorizedError, ValidationFailedError
from batonflow.store.errors import is_throttling

INSTANCE = "baton"


def error_response(status: int, message: str, *, retryable: bool = False, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "status": status,
        "message": message,
        "instance": INSTANCE,
        "retryable": retryable,
    }
    body.update(extra)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def render_aws_refusal(error: ClientError) -> Response | None:
    """A throttled AWS call the retries did not get through: **503**, ``retryable: true``. Conductor
    answers 500 for a ``TransientException`` (REFERENCE §5); clients treat any non-2xx alike, and 503 tells
    an HTTP client or proxy that retrying later is the answer. None for any other AWS error."""
    if not is_throttling(error):
        return None
    code = str(error.response.get("Error", {}).get("Code", ""))
    return error_response(503, f"Service busy: AWS throttled the request ({code}); retry it", retryable=True)


def render(error: BatonError) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationFailedError):
        extra["validationErrors"] = error.validation_errors
    if isinstance(error, UnauthorizedError) and error.code:
        extra["error"] = error.code
    return error_response(error.status, error.message, retryable=error.retryable, **extra)


def validation_items(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors as Conductor's ``validationErrors`` entries."""
    items = []
    for detail in error.errors(include_url=False):
        path = ".".join(str(part) for part in detail["loc"])
        value = detail.get("input")
        entry: dict[str, Any] = {"path": path, "message": detail["msg"]}
        if isinstance(value, str | int | float | bool):
            entry["invalidValue"] = value
        items.append(entry)
    return items


def render_validation(error: ValidationError) -> Response:
    return error_response(
        400, "Validation failed, check below errors for detail.", validationErrors=validation_items(error)
    )
