"""Keeping received messages invisible while this process holds them.

A message received with ``VisibilityTimeout = lease`` comes back to the queue after ``lease`` seconds
unless it is deleted first. One thread renews every held message every third of the shortest lease, with
one ``ChangeMessageVisibilityBatch`` per ten messages, so:

* a task that runs for hours is never handed to a second worker while this process lives;
* if the process dies, its messages reappear after at most one lease;
* the cost is one call per ten running tasks per renewal, whatever the number of workers, and none
  while nothing runs.

A message stays held from receive until its delete has been sent, not just while its function runs:
results wait briefly in the reporter, and a message must not reappear in that window.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from batonflow.sdk.sqs import chunked, log_call_failure

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Lease:
    """One received message this process is responsible for (identity, not value, equality)."""

    queue_url: str
    receipt_handle: str
    seconds: int
    message_id: str = ""


class LeaseKeeper:
    def __init__(self, sqs: Any, *, interval_seconds: float) -> None:
        self._sqs = sqs
        self._interval = interval_seconds
        self._held: set[Lease] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baton-sdk-lease", daemon=True)

    def hold(self, lease: Lease) -> None:
        with self._lock:
            self._held.add(lease)

    def release(self, lease: Lease) -> None:
        with self._lock:
            self._held.discard(lease)

    def held(self) -> list[Lease]:
        with self._lock:
            return list(self._held)

    def beat(self) -> int:
        """Renew every held lease once; returns how many renewals SQS accepted."""
        by_queue: dict[str, list[Lease]] = defaultdict(list)
        for lease in self.held():
            by_queue[lease.queue_url].append(lease)
        renewed = 0
        for queue_url, leases in by_queue.items():
            for chunk in chunked(leases):
                renewed += self._renew(queue_url, chunk)
        return renewed

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.beat()

    def _renew(self, queue_url: str, leases: Sequence[Lease]) -> int:
        entries = [
            {"Id": str(i), "ReceiptHandle": lease.receipt_handle, "VisibilityTimeout": lease.seconds}
            for i, lease in enumerate(leases)
        ]
        try:
            response = self._sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:
            log_call_failure(log, "could not renew %d leases on %s", len(entries), queue_url, exc=exc)
            return 0
        still_held = set(self.held())
        for failure in response.get("Failed", []):
            lease = leases[int(failure["Id"])]
            # A lease released meanwhile was deleted between the snapshot and this call: not a problem.
            if lease in still_held:
                log.warning("lease on message %s lost: %s", lease.message_id, failure.get("Message"))
        return len(response.get("Successful", []))
