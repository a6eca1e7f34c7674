"""Baton's error tree. Each error knows its HTTP status and Conductor's ``retryable`` flag; the API renders
every one of them the same way (``batonflow.api.errors``) as Conductor's error JSON::

    BatonError                      500, the base — never raised directly
    ├── BadRequestError             400  malformed JSON, invalid values
    │   └── ValidationFailedError   400  with ``validationErrors`` (bean-validation style)
    ├── UnauthorizedError           401  bad API key, or a missing/invalid/expired token (with ``error``)
    ├── NotFoundError               404  unknown workflow, task or definition
    ├── ConflictError               409  exists already / wrong state for the operation
    └── PayloadTooLargeError        413
"""

from __future__ import annotations

from typing import Any, ClassVar


class BatonError(Exception):
    status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(BatonError):
    status = 400


class ValidationFailedError(BadRequestError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("Validation failed, check below errors for detail.")
        self.validation_errors = errors


class UnauthorizedError(BatonError):
    """``code`` goes out as the body's ``error`` field: conductor-python fetches a new token and retries once
    only for ``EXPIRED_TOKEN`` and ``INVALID_TOKEN`` (python-sdk-wire.md §2)."""

    status = 401

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class NotFoundError(BatonError):
    status = 404


class ConflictError(BatonError):
    status = 409


class PayloadTooLargeError(BatonError):
    status = 413
