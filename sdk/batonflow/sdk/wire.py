"""What the REST client sends and gets back, and the error it raises: shared by the client and its auth."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class BatonApiError(Exception):
    """The API answered with an error (``status`` = HTTP status), or did not answer (``status`` = 0)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body

    @property
    def retryable(self) -> bool:
        """Conductor's ``retryable`` flag; without one, server errors and no answer count as retryable."""
        flag = self.body.get("retryable") if isinstance(self.body, dict) else None
        if isinstance(flag, bool):
            return flag
        return self.status == 0 or self.status >= 500


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str | None
    content_type: str
    text: str

    def data(self) -> Any:
        return parse_body(self.text)


Send = Callable[[Request], Answer]


def parse_body(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def api_error(status: int, reason: str | None, data: Any) -> BatonApiError:
    if isinstance(data, dict) and data.get("message"):
        message = str(data["message"])
    else:
        message = data if isinstance(data, str) and data else (reason or "error")
    return BatonApiError(status, message, data)
