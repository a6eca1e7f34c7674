"""Sending results, then deleting their task messages, in as few calls as the timing allows; and sending
progress notices (:mod:`batonflow.sdk.lease`) in the same batches.

Order: a message is deleted only after its result was accepted by the results queue. A crash in between
leaves the message to reappear after its lease; the next worker reports it TIMED_OUT instead of running it,
and the engine ignores that report because the attempt already has its result. The reverse order could
lose a result for good.

Batching: the first finished result waits at most ``flush_seconds`` for others, and not at all when no
other task is running, so a lone task pays no latency and ten tasks finishing together cost one
``SendMessageBatch``. Deletes wait longer, since nobody waits for them: a message whose result went is
deleted once ten are ready (one full ``DeleteMessageBatch``), when the oldest has waited
``delete_linger_seconds``, or when the reporter closes. Its lease stays held, and renewed, until then, so
under load a delete costs a tenth of a call instead of one per results batch, and it never runs while the
engine handles the result it follows.

Failures: a failed call (after botocore's own retries) or a failed batch entry is tried again on a later
flush, after a pause that grows with consecutive failures, up to :data:`MAX_ATTEMPTS` times. Then the
result is given up and its lease released: the message reappears and is reported TIMED_OUT, so the engine
retries the task rather than waiting forever. A notice is only sent: it deletes nothing, and one given up
is dropped, its lease kept (the next heartbeat, or the result, follows).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from batonflow.sdk.lease import Lease, LeaseKeeper
from batonflow.sdk.sqs import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MAX_BATCH,
    chunked,
    log_call_failure,
    pack_by_size,
    retry_delay,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass(eq=False)
class Outgoing:
    """What to do for one received message: send ``body`` to the results queue (if any), then delete the
    message, unless ``delete`` is False (a progress notice: the task still runs)."""

    lease: Lease
    body: str | None
    attempts: int = 0
    delete: bool = True

    @property
    def size(self) -> int:
        return len(self.body.encode()) if self.body is not None else 0


class Reporter:
    def __init__(
        self,
        sqs: Any,
        results_queue_url: Callable[[], str],
        leases: LeaseKeeper,
        *,
        flush_seconds: float = 0.01,
        delete_linger_seconds: float = 1.0,
        max_batch_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        delay: Callable[[int], float] = retry_delay,
    ) -> None:
        self._sqs = sqs
        self._results_queue_url = results_queue_url
        self._leases = leases
        self._flush_seconds = flush_seconds
        self._delete_linger_seconds = delete_linger_seconds
        self._max_batch_bytes = max_batch_bytes
        self._delay = delay
        self._cond = threading.Condition()
        self._pending: list[Outgoing] = []
        self._deletable: list[Outgoing] = []
        """Messages whose result went (or that had none), waiting to be deleted in a fuller batch."""
        self._delete_by = 0.0
        """When (monotonic) the oldest of ``_deletable`` must be deleted."""
        self._running = 0
        self._closing = False
        self._failures = 0
        self._thread = threading.Thread(target=self._run, name="baton-sdk-reporter", daemon=True)

    def task_started(self) -> None:
        with self._cond:
            self._running += 1

    def task_finished(self, item: Outgoing | None) -> None:
        """A task is done; ``item`` is None when it produced nothing to report (its lease is released)."""
        with self._cond:
            self._running -= 1
            if item is not None:
                self._pending.append(item)
            self._cond.notify_all()

    def put(self, item: Outgoing) -> None:
        with self._cond:
            self._pending.append(item)
            self._cond.notify_all()

    def put_notices(self, notices: Iterable[tuple[Lease, str]]) -> None:
        """Queue progress notices: sent with the next batch, their messages neither deleted nor released."""
        with self._cond:
            self._pending.extend(Outgoing(lease, body, delete=False) for lease, body in notices)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no task runs; False if some still do after ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._running == 0, timeout)

    @property
    def running(self) -> int:
        with self._cond:
            return self._running

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float) -> None:
        """Flush what is pending (no more lingering, no waits between attempts), then end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def flush(self, batch: Sequence[Outgoing]) -> None:
        """Send the results and notices in ``batch``, then hold the messages whose result went (or that had
        none) for deletion; a notice's message is left alone."""
        results = [item for item in batch if item.body is not None]
        done = [item for item in batch if item.body is None]
        if results:
            done += [item for item in self._send(results) if item.delete]
        if done:
            with self._cond:
                if not self._deletable:
                    self._delete_by = time.monotonic() + self._delete_linger_seconds
                self._deletable += done

    def delete_ready(self, *, everything: bool = False) -> None:
        """Delete the held messages if ten are ready, the oldest has waited long enough, or ``everything``."""
        with self._cond:
            if not (everything or self._deletes_due()):
                return
            ready, self._deletable = self._deletable, []
        self._delete(ready)

    def _deletes_due(self) -> bool:
        if not self._deletable:
            return False
        fullest = max(Counter(item.lease.queue_url for item in self._deletable).values())
        return fullest >= MAX_BATCH or time.monotonic() >= self._delete_by

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            self.flush(batch)
            self.delete_ready()
            if self._failures:
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, self._delay(self._failures))
        self.delete_ready(everything=True)

    def _take(self) -> list[Outgoing] | None:
        """Block for the next batch: empty when only held deletes are due, None once closing with nothing
        left to send."""
        with self._cond:
            while not (self._pending or self._closing or self._deletes_due()):
                self._cond.wait(max(0.0, self._delete_by - time.monotonic()) if self._deletable else None)
            if not self._pending:
                return None if self._closing else []
            deadline = time.monotonic() + self._flush_seconds
            while len(self._pending) < MAX_BATCH and self._running and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            return batch

    def _send(self, items: list[Outgoing]) -> list[Outgoing]:
        """Send results; return the items that went. The others are queued again or given up."""
        sent: list[Outgoing] = []
        for indexes in pack_by_size([item.size for item in items], max_bytes=self._max_batch_bytes):
            group = [items[i] for i in indexes]
            entries = [{"Id": str(i), "MessageBody": item.body} for i, item in enumerate(group)]
            try:
                response = self._sqs.send_message_batch(QueueUrl=self._results_queue_url(), Entries=entries)
            except Exception as exc:
                log_call_failure(log, "could not send %d results", len(group), exc=exc)
                self._failures += 1
                self._retry_later(group, str(exc))
                continue
            failed = response.get("Failed", [])
            self._failures = self._failures + 1 if failed else 0
            sent += [group[int(entry["Id"])] for entry in response.get("Successful", [])]
            for failure in failed:
                item = group[int(failure["Id"])]
                self._retry_later([item], f"{failure.get('Code')}: {failure.get('Message')}")
        return sent

    def _retry_later(self, items: list[Outgoing], error: str) -> None:
        again = []
        for item in items:
            item.attempts += 1
            if item.attempts < MAX_ATTEMPTS:
                again.append(item)
            elif not item.delete:
                log.warning(
                    "progress notice for message %s dropped after %d attempts (%s)",
                    item.lease.message_id,
                    item.attempts,
                    error,
                )
            else:
                log.error(
                    "result for message %s given up after %d attempts (%s); the task will be retried",
                    item.lease.message_id,
                    item.attempts,
                    error,
                )
                self._leases.release(item.lease)
        with self._cond:
            self._pending[:0] = again

    def _delete(self, items: list[Outgoing]) -> None:
        by_queue: dict[str, list[Outgoing]] = defaultdict(list)
        for item in items:
            by_queue[item.lease.queue_url].append(item)
        for queue_url, queue_items in by_queue.items():
            for chunk in chunked(queue_items):
                self._delete_chunk(queue_url, chunk)

    def _delete_chunk(self, queue_url: str, chunk: Sequence[Outgoing]) -> None:
        """Delete; failures are only logged: the message reappears and is reported TIMED_OUT, a late no-op."""
        entries = [{"Id": str(i), "ReceiptHandle": item.lease.receipt_handle} for i, item in enumerate(chunk)]
        try:
            response = self._sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:
            log_call_failure(
                log, "could not delete %d task messages from %s", len(entries), queue_url, exc=exc
            )
        else:
            for failure in response.get("Failed", []):
                log.warning("could not delete a task message: %s", failure.get("Message"))
        for item in chunk:
            self._leases.release(item.lease)
