"""Concurrency slots: how many attempts of a task definition are out with workers at once.

Same partition as the rate-limit windows (``LIMIT#<name>``): one item (``RUNNING``) holds the set of
attempts holding a slot (``holders``, "<workflowId>/<taskId>" strings, added and removed with conditional
updates, so taking a slot twice or giving it back twice changes nothing), and the time of the next review
of the backlog (``reviewAt``). Attempts waiting for a slot are items ``Q#<scheduledTime>#<taskId>`` in
the order they were scheduled, each carrying its task message and the limit it waits under.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from batonflow.model.wire import TaskMessage
from batonflow.store.attrs import get_n, get_s, n, s
from batonflow.store.batches import batch_write

_SLOTS_SK = "RUNNING"
_WAITING_PREFIX = "Q#"


def _pk(definition: str) -> str:
    return f"LIMIT#{definition}"


def holder_of(workflow_id: str, task_id: str) -> str:
    return f"{workflow_id}/{task_id}"


def split_holder(holder: str) -> tuple[str, str]:
    workflow_id, _, task_id = holder.partition("/")
    return workflow_id, task_id


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Waiting:
    """An attempt waiting for a slot."""

    key: str
    message: TaskMessage
    limit: int


class ExecSlots:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def acquire(self, definition: str, holder: str, limit: int) -> bool:
        """Take a slot for ``holder`` if fewer than ``limit`` are taken (True if it holds one already)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(_pk(definition)), "SK": s(_SLOTS_SK)},
                UpdateExpression="ADD #holders :holder",
                ConditionExpression=(
                    "attribute_not_exists(#holders) OR size(#holders) < :limit OR contains(#holders, :one)"
                ),
                ExpressionAttributeNames={"#holders": "holders"},
                ExpressionAttributeValues={
                    ":holder": {"SS": [holder]},
                    ":one": s(holder),
                    ":limit": n(limit),
                },
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def release(self, definition: str, holders: Iterable[str]) -> None:
        """Give the slots of ``holders`` back (those that hold none are ignored)."""
        names = sorted(set(holders))
        if names:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(_pk(definition)), "SK": s(_SLOTS_SK)},
                UpdateExpression="DELETE #holders :holders",
                ExpressionAttributeNames={"#holders": "holders"},
                ExpressionAttributeValues={":holders": {"SS": names}},
            )

    def holders(self, definition: str) -> list[str]:
        response = self._client.get_item(
            TableName=self._table, Key={"PK": s(_pk(definition)), "SK": s(_SLOTS_SK)}, ConsistentRead=True
        )
        return sorted((response.get("Item") or {}).get("holders", {}).get("SS", []))

    def wait(self, definition: str, message: TaskMessage, limit: int) -> None:
        """Put an attempt in the definition's backlog (again: same key, no second entry)."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "PK": s(_pk(definition)),
                "SK": s(f"{_WAITING_PREFIX}{message.scheduled_time:013d}#{message.task_id}"),
                "message": s(message.to_json()),
                "limit": n(limit),
            },
        )

    def waiting(self, definition: str, count: int) -> list[Waiting]:
        """The ``count`` attempts that have waited longest."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :waiting)",
            ExpressionAttributeValues={":pk": s(_pk(definition)), ":waiting": s(_WAITING_PREFIX)},
            ConsistentRead=True,
            Limit=count,
        )
        return [
            Waiting(
                key=get_s(item, "SK") or "",
                message=TaskMessage.model_validate_json(get_s(item, "message") or "{}"),
                limit=get_n(item, "limit"),
            )
            for item in response.get("Items", [])
        ]

    def done_waiting(self, definition: str, keys: Iterable[str]) -> None:
        key = {"PK": s(_pk(definition))}
        batch_write(
            self._client,
            self._table,
            ({"DeleteRequest": {"Key": {**key, "SK": s(sk)}}} for sk in dict.fromkeys(keys)),
        )

    def claim_review(self, definition: str, *, now: int, review_at: int) -> bool:
        """Book the backlog's next review at ``review_at`` unless one is booked after ``now`` (one review
        chain per definition, however many attempts wait)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(_pk(definition)), "SK": s(_SLOTS_SK)},
                UpdateExpression="SET #reviewAt = :at",
                ConditionExpression="attribute_not_exists(#reviewAt) OR #reviewAt <= :now",
                ExpressionAttributeNames={"#reviewAt": "reviewAt"},
                ExpressionAttributeValues={":at": n(review_at), ":now": n(now)},
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True
