"""DynamoDB Time to Live, which moto does not do: delete the items whose TTL attribute has passed.

On AWS a background process deletes expired items (within days, at no cost) and each deletion appears in
the table's stream as a REMOVE. :class:`TtlSweeper` is that process for a local endpoint: a Scan for items
whose TTL attribute (a number, epoch seconds) is at or before now, then a DeleteItem of each that is still
expired when deleted (AWS too re-checks: an item whose TTL was moved meanwhile stays). The deletions reach
the stream like any other, so the table's stream event sources see them. A Scan is right here — it emulates
AWS's own sweep, not a request path. Items without the attribute, or with a non-number in it, never expire.

The sweep runs every ``interval_s`` in a thread (``baton up``: a minute) and on demand with a given
``now`` (tests with a fake clock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from batonflow.emulator.background import BackgroundLoop

logger = logging.getLogger(__name__)


class TtlSweeper(BackgroundLoop):
    """Deletes the expired items of one table; :meth:`sweep` is one pass, the thread repeats it."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        attribute: str,
        *,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.attribute = attribute
        self.interval_s = interval_s
        self._dynamodb = dynamodb
        self._clock = clock
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        self._key_names = [key["AttributeName"] for key in schema]
        super().__init__(f"ttl-{table}")

    def sweep(self, now_s: float | None = None) -> int:
        """Delete every item whose TTL is at or before ``now_s`` (default: the clock); returns how many."""
        now = int(self._clock() if now_s is None else now_s)
        names = {"#ttl": self.attribute, **{f"#k{i}": name for i, name in enumerate(self._key_names)}}
        expired = {":now": {"N": str(now)}}
        scan: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "#ttl <= :now",
            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(self._key_names))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": expired,
        }
        deleted = 0
        while True:
            page = self._dynamodb.scan(**scan)
            for key in page.get("Items", []):
                deleted += self._delete_if_expired(key, expired)
            if not page.get("LastEvaluatedKey"):
                return deleted
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _delete_if_expired(self, key: dict[str, Any], expired: dict[str, Any]) -> int:
        try:
            self._dynamodb.delete_item(
                TableName=self.table,
                Key=key,
                ConditionExpression="#ttl <= :now",
                ExpressionAttributeNames={"#ttl": self.attribute},
                ExpressionAttributeValues=expired,
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return 0
        return 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sweep()
            except Exception:
                logger.exception("TTL sweep of %s failed", self.table)
