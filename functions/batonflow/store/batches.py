"""Batched writes, shared by the stores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BATCH_WRITE_LIMIT = 25


def batch_write(client: Any, table: str, requests: Iterable[dict[str, Any]]) -> None:
    """BatchWriteItem, 25 requests a call, until DynamoDB has taken every one (UnprocessedItems again)."""
    pending_requests = list(requests)
    for start in range(0, len(pending_requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table: pending_requests[start : start + BATCH_WRITE_LIMIT]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
