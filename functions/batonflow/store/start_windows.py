"""Rate-limit windows: how many tasks of a definition may start in each window of time.

One partition per task definition (``LIMIT#<name>``): an item per window (``W#<index>``, a count of the
starts reserved in it, expiring with DynamoDB TTL once the window has passed) and a hint (``NEXT``) at the
earliest window that may still have room, so a backlog does not make every reservation probe the full
windows one by one.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from batonflow.store.attrs import get_n, n, s

_HINT_SK = "NEXT"
_KEEP_WINDOWS_S = 3600
"""How long a window's counter outlives it before TTL removes it."""


def _pk(definition: str) -> str:
    return f"LIMIT#{definition}"


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class StartWindows:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def first_open(self, definition: str) -> int:
        """The hint: no window before this one has room (0 if none was ever full)."""
        response = self._client.get_item(
            TableName=self._table, Key={"PK": s(_pk(definition)), "SK": s(_HINT_SK)}, ConsistentRead=True
        )
        return get_n(response.get("Item") or {}, "window")

    def reserve(self, definition: str, window: int, limit: int, window_end_s: int) -> bool:
        """Count one start in ``window`` if fewer than ``limit`` are counted there; False if it is full."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(_pk(definition)), "SK": s(f"W#{window}")},
                UpdateExpression="ADD #starts :one SET #expiresAt = :expires",
                ConditionExpression="attribute_not_exists(#starts) OR #starts < :limit",
                ExpressionAttributeNames={"#starts": "starts", "#expiresAt": "expiresAt"},
                ExpressionAttributeValues={
                    ":one": n(1),
                    ":limit": n(limit),
                    ":expires": n(window_end_s + _KEEP_WINDOWS_S),
                },
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def move_hint(self, definition: str, window: int) -> None:
        """Record that the windows before ``window`` are full (never moves the hint back)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(_pk(definition)), "SK": s(_HINT_SK)},
                UpdateExpression="SET #window = :window",
                ConditionExpression="attribute_not_exists(#window) OR #window < :window",
                ExpressionAttributeNames={"#window": "window"},
                ExpressionAttributeValues={":window": n(window)},
            )
        except ClientError as error:
            if not _conditional_failure(error):
                raise
