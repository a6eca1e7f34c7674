"""Sending Baton's messages, batched.

Every send groups messages by queue into ``SendMessageBatch`` calls of up to ten entries: a decide that
schedules a fork of 50 tasks costs 5 calls, not 50. Task queues are created on first use and their URLs
cached for the life of the Lambda container.

Delays over SQS's 15-minute cap go through the timer queue, which re-sends the message until it is due.

:meth:`Queues.held` holds every send until a block ends: the decider deciding ten workflows in one
invocation then sends their ten next tasks in one ``SendMessageBatch`` instead of ten ``SendMessage``.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from batonflow.engine.state import LARGE_WORKFLOW_TASKS
from batonflow.model.wire import (
    MAX_SQS_DELAY_SECONDS,
    TASK_QUEUE_ATTRIBUTES,
    DeciderMessage,
    DeciderReason,
    TaskMessage,
    TimerKind,
    TimerMessage,
    task_queue_name,
)

_BATCH = 10
_BATCH_BYTES = 262_144
_MISSING_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
_ALREADY_EXISTS = ("QueueAlreadyExists", "QueueNameExists")


class SendError(Exception):
    """Some messages of a batch could not be sent (the caller's handler should fail and be retried)."""


def delay_until(due_at: int, now: int) -> int:
    """Whole seconds from ``now`` to ``due_at`` (epoch ms), rounded up, at least 0."""
    return max(0, math.ceil((due_at - now) / 1000))


class Queues:
    def __init__(
        self,
        client: Any,
        *,
        queue_prefix: str,
        decider_queue_url: str,
        timer_queue_url: str,
    ) -> None:
        self._client = client
        self._prefix = queue_prefix
        self.decider_queue_url = decider_queue_url
        self.timer_queue_url = timer_queue_url
        self._task_queue_urls: dict[str, str] = {}
        self._lock = threading.Lock()
        self._held = threading.local()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold this thread's sends until the block ends, then send them together, batched per queue, and
        then run what waited for them (:meth:`after_sends`).

        Only for a caller whose work is redone if the block fails: an SQS-triggered handler whose batch
        comes back (its commits' outboxes then repeat the sends, see ``service.executor``). Nothing is
        sent if the block raises; a failed send at the end raises :class:`SendError`, and what waited for
        the sends does not run.
        """
        if self._holding:
            yield
            return
        self._held.entries = {}
        self._held.after = []
        try:
            yield
            entries: dict[str, list[dict[str, Any]]] = self._held.entries
            after: list[Callable[[], None]] = self._held.after
        finally:
            self._held.entries = None
            self._held.after = None
        for url, queued in entries.items():
            self._send_batches(url, queued)
        for callback in after:
            callback()

    def after_sends(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the sends made so far on this thread are out: now, or when the held
        block's sends went (never, if they failed)."""
        if self._holding:
            self._held.after.append(callback)
        else:
            callback()

    @property
    def _holding(self) -> bool:
        return getattr(self._held, "entries", None) is not None

    # -- task queues ----------------------------------------------------------------------------------
    def task_queue_url(self, task_type: str) -> str:
        url = self._task_queue_urls.get(task_type)
        if url is not None:
            return url
        name = task_queue_name(self._prefix, task_type)
        try:
            url = self._client.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _MISSING_QUEUE:
                raise
            url = self._create(name)
        with self._lock:
            self._task_queue_urls[task_type] = url
        return url

    def _create(self, name: str) -> str:
        try:
            return self._client.create_queue(QueueName=name, Attributes=TASK_QUEUE_ATTRIBUTES)["QueueUrl"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _ALREADY_EXISTS:
                raise
            # created meanwhile (by a worker) with other attributes: use it as it is
            return self._client.get_queue_url(QueueName=name)["QueueUrl"]

    def send_tasks(self, messages: Sequence[tuple[TaskMessage, int]], *, now: int) -> None:
        """Send task messages with their delays (seconds); long delays go through the timer queue.

        One message per task attempt: a repeat in ``messages`` (two deliveries of one timer in a batch)
        is sent once.
        """
        by_queue: dict[str, list[dict[str, Any]]] = {}
        timers: list[TimerMessage] = []
        seen: set[str] = set()
        for message, delay in messages:
            if message.task_id in seen:
                continue
            seen.add(message.task_id)
            if delay > MAX_SQS_DELAY_SECONDS:
                due = now + delay * 1000
                timers.append(
                    TimerMessage(
                        kind=TimerKind.DISPATCH,
                        workflowId=message.workflow_instance_id,
                        dueAt=due,
                        task=message,
                    )
                )
                continue
            entries = by_queue.setdefault(self.task_queue_url(message.task_type), [])
            entries.append({"Id": str(len(entries)), "MessageBody": message.to_json(), "DelaySeconds": delay})
        for url, entries in by_queue.items():
            self._send_batches(url, entries)
        self.send_timers(timers, now=now)

    # -- decider --------------------------------------------------------------------------------------
    def wake_workflows(self, workflow_ids: Iterable[str], reason: DeciderReason) -> None:
        """Ask the decider to look at each whole workflow (one message per workflow, batched)."""
        self.wake({w: DeciderMessage(workflowId=w, reason=reason) for w in workflow_ids})

    def wake_for_tasks(self, changed: Iterable[tuple[str, str, int]], reason: DeciderReason) -> None:
        """Ask the decider to look at the attempts that changed, as (workflow id, task id, seq) triples
        (one message per workflow, batched)."""
        self.wake(wake_messages(changed, reason))

    def wake(self, messages: dict[str, DeciderMessage]) -> None:
        """Send these decider messages, keyed by workflow id (batched)."""
        entries = [
            {
                "Id": str(index),
                "MessageBody": message.to_json(),
                "MessageGroupId": workflow_id,
                "MessageDeduplicationId": uuid.uuid4().hex,
            }
            for index, (workflow_id, message) in enumerate(messages.items())
        ]
        self._send_batches(self.decider_queue_url, entries)

    # -- timers ---------------------------------------------------------------------------------------
    def send_timers(self, timers: Sequence[TimerMessage], *, now: int) -> None:
        entries = [
            {
                "Id": str(index),
                "MessageBody": timer.to_json(),
                "DelaySeconds": min(delay_until(timer.due_at, now), MAX_SQS_DELAY_SECONDS),
            }
            for index, timer in enumerate(timers)
        ]
        self._send_batches(self.timer_queue_url, entries)

    def wake_at(self, workflow_id: str, due_at: int, *, now: int, task_id: str | None = None) -> None:
        """Wake the decider at ``due_at`` for the workflow (or only for one attempt's deadline)."""
        timer = TimerMessage(kind=TimerKind.WAKE, workflowId=workflow_id, dueAt=due_at, taskId=task_id)
        self.send_timers([timer], now=now)

    # -- plumbing -------------------------------------------------------------------------------------
    def _send_batches(self, url: str, entries: list[dict[str, Any]]) -> None:
        held = getattr(self._held, "entries", None)
        if held is not None:
            held.setdefault(url, []).extend(entries)
            return
        for chunk in _batches(entries):
            if len(chunk) == 1:
                entry = {k: v for k, v in chunk[0].items() if k != "Id"}
                self._client.send_message(QueueUrl=url, **entry)
                continue
            response = self._client.send_message_batch(QueueUrl=url, Entries=chunk)
            if response.get("Failed"):
                failed = ", ".join(
                    f"{f['Id']}: {f.get('Message', f.get('Code'))}" for f in response["Failed"]
                )
                raise SendError(f"could not send to {url}: {failed}")


def wake_messages(
    changed: Iterable[tuple[str, str, int]], reason: DeciderReason
) -> dict[str, DeciderMessage]:
    """One decider message per workflow naming its changed attempts, from (workflow id, task id, seq)
    triples; a workflow with an attempt past ``LARGE_WORKFLOW_TASKS`` is marked large."""
    task_ids: dict[str, list[str]] = {}
    large: set[str] = set()
    for workflow_id, task_id, seq in changed:
        task_ids.setdefault(workflow_id, []).append(task_id)
        if seq >= LARGE_WORKFLOW_TASKS:
            large.add(workflow_id)
    return {
        workflow_id: DeciderMessage(
            workflowId=workflow_id,
            reason=reason,
            taskIds=list(dict.fromkeys(ids)),
            large=workflow_id in large,
        )
        for workflow_id, ids in task_ids.items()
    }


def _batches(entries: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Entries in sends of at most ten and 256 KB, numbered within each send."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["MessageBody"].encode())
        if chunk and (len(chunk) == _BATCH or size + entry_size > _BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append({**entry, "Id": str(len(chunk))})
        size += entry_size
    if chunk:
        yield chunk
