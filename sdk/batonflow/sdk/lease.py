"""Keeping received messages invisible while this process holds them, and telling the engine about tasks
that run long.

Renewal. A message received with ``VisibilityTimeout = lease`` comes back to the queue after ``lease``
seconds unless it is deleted first. One thread renews every held message every third of the shortest
lease, with one ``ChangeMessageVisibilityBatch`` per ten messages, so:

* a task that runs for hours is never handed to a second worker while this process lives;
* if the process dies, its messages reappear after at most one lease;
* the cost is one call per ten running tasks per renewal, whatever the number of workers, and none
  while nothing runs.

A message stays held from receive until its delete has been sent, not just while its function runs:
results wait briefly in the reporter, and a message must not reappear in that window.

Progress notices. Taking a message tells the engine nothing, so the attempt stays SCHEDULED, without a
start time, until its result arrives; the engine's ``timeoutSeconds`` (counted from the start) and
``responseTimeoutSeconds`` (from the last update of an IN_PROGRESS attempt) could never expire while a
hung function kept its lease renewed. The same thread therefore sends, for each task whose function still
runs (its :class:`Progress`), an IN_PROGRESS result with ``extendLease`` and ``startTime`` = when it was
received (:func:`~batonflow.sdk.execution.progress_notice`), through the reporter's batches:

* a **start notice** once the task has run for ``min(renewal interval, 0.8 x responseTimeoutSeconds)``:
  the engine makes the attempt IN_PROGRESS since that start time, and its deadlines begin. A task that
  ends sooner, as most do, costs nothing;
* then a **heartbeat** every ``0.8 x responseTimeoutSeconds`` (none when the task has no response
  timeout), conductor-python's lease extension: each restarts the response-timeout clock.

A notice only sends: it never deletes its task message nor releases its lease, and one that cannot be sent
is dropped. Notices end when the function returns (its result follows) or when this thread stops; a hung
function's attempt then times out by the engine's deadlines, and its late result changes nothing. Notices
follow the injected clock (``now_ms``), renewals the monotonic one; the thread waits for whichever of the
two is due first, and wakes early when a task starts, so a short response timeout is honoured.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from batonflow.sdk.context import epoch_ms
from batonflow.sdk.execution import progress_notice
from batonflow.sdk.sqs import chunked, log_call_failure

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Progress:
    """A task whose function runs in this process: what its notices say, and when the last went (epoch ms)."""

    workflow_instance_id: str
    task_id: str
    worker_id: str
    received_at: int
    response_timeout_seconds: int
    last_notice: int | None = None

    @property
    def heartbeat_ms(self) -> int:
        """``0.8 x responseTimeoutSeconds`` in ms: 0 when the task has no response timeout."""
        return max(0, self.response_timeout_seconds) * 800

    def due_at(self, start_after_ms: int) -> int | None:
        """When the next notice is due: the start notice ``min(start_after_ms, heartbeat)`` after the
        receive, then one per heartbeat period (none when there is no response timeout)."""
        heartbeat = self.heartbeat_ms
        if self.last_notice is None:
            return self.received_at + (min(start_after_ms, heartbeat) if heartbeat else start_after_ms)
        return self.last_notice + heartbeat if heartbeat else None

    def notice(self) -> str:
        """The notice, as a results-queue message body."""
        return progress_notice(
            self.workflow_instance_id, self.task_id, worker_id=self.worker_id, start_time=self.received_at
        ).to_json()


@dataclass(eq=False)
class Lease:
    """One received message this process is responsible for (identity, not value, equality).

    ``progress`` is set while the message's task function runs, and only then are notices sent for it.
    """

    queue_url: str
    receipt_handle: str
    seconds: int
    message_id: str = ""
    progress: Progress | None = None


Notify = Callable[[list[tuple[Lease, str]]], None]
"""Hands notices (the lease of each task, and the body to send) to the reporter."""


class LeaseKeeper:
    def __init__(
        self,
        sqs: Any,
        *,
        interval_seconds: float,
        now_ms: Callable[[], int] = epoch_ms,
        notify: Notify | None = None,
    ) -> None:
        """``notify``: where progress notices go; without it none are sent."""
        self._sqs = sqs
        self._interval = interval_seconds
        self._start_after_ms = int(interval_seconds * 1000)
        self._now_ms = now_ms
        self._notify = notify
        self._held: set[Lease] = set()
        # Guards the held leases, their progress and stopping; notified when a task starts or on stop.
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="baton-sdk-lease", daemon=True)

    def hold(self, lease: Lease) -> None:
        with self._changed:
            self._held.add(lease)

    def release(self, lease: Lease) -> None:
        with self._changed:
            self._held.discard(lease)

    def held(self) -> list[Lease]:
        with self._changed:
            return list(self._held)

    def track(self, lease: Lease, progress: Progress) -> None:
        """The held message's task function starts: time its notices (the thread re-plans its wait)."""
        with self._changed:
            lease.progress = progress
            self._changed.notify_all()

    def untrack(self, lease: Lease) -> None:
        """The function returned: no more notices for it (its result, or nothing, follows)."""
        with self._changed:
            lease.progress = None

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

    def next_notice_at(self) -> int | None:
        """When the earliest notice is due (epoch ms), if any."""
        with self._changed:
            return self._next_notice_at()

    def send_notices(self) -> int:
        """Hand the notices due by now to ``notify``; returns how many."""
        if self._notify is None:
            return 0
        now = self._now_ms()
        notices: list[tuple[Lease, str]] = []
        with self._changed:
            for lease in self._held:
                progress = lease.progress
                if progress is None:
                    continue
                due = progress.due_at(self._start_after_ms)
                if due is not None and due <= now:
                    progress.last_notice = now
                    notices.append((lease, progress.notice()))
        if notices:
            self._notify(notices)
        return len(notices)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        next_renewal = time.monotonic() + self._interval
        while self._wait(next_renewal):
            if time.monotonic() >= next_renewal:
                self.beat()
                next_renewal = time.monotonic() + self._interval
            self.send_notices()

    def _wait(self, next_renewal: float) -> bool:
        """Wait until the next renewal or the next notice due, whichever is first, or until a task starts;
        False once stopping."""
        with self._changed:
            if self._stopping:
                return False
            timeout = next_renewal - time.monotonic()
            due = self._next_notice_at()
            if due is not None:
                timeout = min(timeout, (due - self._now_ms()) / 1000)
            self._changed.wait(max(0.0, timeout))
            return not self._stopping

    def _next_notice_at(self) -> int | None:
        """The earliest notice due; the caller holds the lock."""
        if self._notify is None:
            return None
        dues = [lease.progress.due_at(self._start_after_ms) for lease in self._held if lease.progress]
        return min((due for due in dues if due is not None), default=None)

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
