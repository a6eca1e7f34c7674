"""An indexed message store for moto's SQS queues: receive, delete and change-visibility in O(log n).

moto 5.2 keeps a queue as one list of messages and answers every call by walking it: ReceiveMessage
filters the whole list for visible, undelayed messages (``Queue.messages``), DeleteMessage and
ChangeMessageVisibility look the receipt handle up message by message, and each ``Queue.attributes``
read — made by every SendMessage and by ReceiveMessage once per message it returns, for the retention
check — counts the list three times. At a depth of 5,000 a receive+delete costs about 370 ms, so a
10,000-branch fan-out spends hours in the emulator's SQS.

:func:`install` keeps moto's ``Message`` and ``Queue`` objects and its public behaviour, and gives every
queue a :class:`QueueIndex` that answers those calls from a few structures keyed by a per-queue send
sequence number (the position of the message in moto's list):

* ``live``: sequence number -> message, in send order (what ``Queue._messages`` returns);
* ``receipts``: every receipt handle a live message ever had -> message (moto accepts old handles);
* three heaps of *placements*: ``delayed`` (by ``delayed_until``), ``in_flight`` (by ``visible_at``)
  and the ready set. A message has exactly one current placement; every change of its timers makes a new
  one with a fresh stamp, and entries whose stamp is not current are dropped when they reach the top of
  their heap, so nothing is ever searched for;
* FIFO queues: ready messages of a message group sit in that group's own heap, and one heap of group
  heads orders the groups. A group with an in-flight message (moto's ``pending_message_groups``, kept
  here as a count per group) is skipped once and offered again when its last in-flight message is
  deleted or becomes visible, so a blocked group costs nothing per receive however long it is.

The semantics are moto's, call for call: messages are delivered in send order; a message is visible
when ``now > visible_at`` and undelayed when ``now >= delayed_until`` (moto's own comparisons, against
``moto.sqs.models.unix_time_millis`` so a test that replaces that clock moves both); one ReceiveMessage
call may return several messages of a FIFO group but none of a group that had a message in flight when
the call began; a message received ``maxReceiveCount`` times moves to the dead-letter queue when it is
next due for delivery; ``VisibilityTimeout=0`` leaves a received message visible; deduplication compares
against the messages still in the queue within five minutes; a receive of a message past the retention
period stops the receive, as moto does. The one deliberate difference is timing: an in-flight message
whose visibility lapsed is released from ``pending_messages`` when the lapse is noticed (at the next
call on the queue) rather than when a receive loop happens to walk past it.

Every operation holds the queue's own lock (moto's ``_messages_lock``), which moto's list did not need
for single calls but a set of heaps does under ``ThreadedMotoServer``. Messages leave for the dead-letter
queue after that lock is released, so two queues that redrive into each other cannot deadlock.

``tests/functional/test_moto_sqs_index.py`` runs the same behavioural assertions against plain and
indexed moto. Written so it could be offered to moto as the implementation of ``Queue``.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any

from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Message, Queue, SQSBackend, sqs_backends

READY, DELAYED, IN_FLIGHT = 0, 1, 2
_MAX_TOTAL_VISIBILITY_MS = 43200 * 1000

_ORIGINALS: dict[tuple[type, str], Any] = {}
_indexed_queues: weakref.WeakSet[Queue] = weakref.WeakSet()


class QueueIndex:
    """The messages of one queue, placed by when they can next be delivered (see the module docstring).

    ``examined`` counts the heap entries the queue's calls have looked at: a deterministic measure of
    the work a call does, which tests compare across queue depths instead of timing calls.
    """

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        self.examined = 0
        self.live: dict[int, Message] = {}
        self.receipts: dict[str, Message] = {}
        self.pending: set[Message] = set()
        self.pending_groups: dict[str, int] = {}
        self.counts = [0, 0, 0]
        self._seq_of: dict[Message, int] = {}
        self._placement: dict[int, tuple[int, int]] = {}
        self._dedup: dict[str, dict[int, Message]] = {}
        self._sequence = itertools.count()
        self._stamps = itertools.count()
        self._delayed: list[tuple[float, int, int]] = []
        self._in_flight: list[tuple[float, int, int]] = []
        self._ready: list[tuple[int, int]] = []
        self._groups: dict[str, list[tuple[int, int]]] = {}
        self._heads: list[tuple[int, str]] = []
        self._head_of: dict[str, int] = {}

    # -- membership -----------------------------------------------------------------------------

    def __contains__(self, message: object) -> bool:
        return message in self._seq_of

    def add(self, message: Message, now: float) -> None:
        seq = next(self._sequence)
        self._seq_of[message] = seq
        self.live[seq] = message
        for handle in message.all_receipt_handles:
            if handle is not None:
                self.receipts[handle] = message
        if message.deduplication_id is not None:
            self._dedup.setdefault(message.deduplication_id, {})[seq] = message
        self.place(message, now)

    def remove(self, message: Message) -> None:
        seq = self._seq_of.pop(message)
        del self.live[seq]
        _, where = self._placement.pop(seq)
        self.counts[where] -= 1
        for handle in message.all_receipt_handles:
            if handle is not None:
                self.receipts.pop(handle, None)
        if message.deduplication_id is not None:
            same = self._dedup[message.deduplication_id]
            del same[seq]
            if not same:
                del self._dedup[message.deduplication_id]
        if message in self.pending:
            self.unpend(message)

    def duplicates(self, deduplication_id: str | None) -> Iterator[Message]:
        """The messages in the queue with this deduplication id (moto compares ``None`` ids too)."""
        if deduplication_id is None:
            yield from (m for m in self.live.values() if m.deduplication_id is None)
        else:
            yield from self._dedup.get(deduplication_id, {}).values()

    def note_receipt(self, message: Message) -> None:
        if message.receipt_handle is not None:
            self.receipts[message.receipt_handle] = message

    # -- in-flight bookkeeping (moto's pending_messages) -----------------------------------------

    def pend(self, message: Message) -> None:
        self.pending.add(message)
        if message.group_id is not None:
            self.pending_groups[message.group_id] = self.pending_groups.get(message.group_id, 0) + 1

    def unpend(self, message: Message) -> None:
        self.pending.discard(message)
        group = message.group_id
        if group is None:
            return
        left = self.pending_groups[group] - 1
        if left:
            self.pending_groups[group] = left
        else:
            del self.pending_groups[group]
            self._offer_group(group)

    # -- placement --------------------------------------------------------------------------------

    def place(self, message: Message, now: float) -> None:
        """Give ``message`` a new placement from its timers, replacing any it had."""
        seq = self._seq_of[message]
        old = self._placement.get(seq)
        if old is not None:
            self.counts[old[1]] -= 1
        stamp = next(self._stamps)
        if now < message.delayed_until:
            where = DELAYED
        elif now <= message.visible_at:
            where = IN_FLIGHT
        else:
            where = READY
        self._placement[seq] = (stamp, where)
        self.counts[where] += 1
        if where == DELAYED:
            heapq.heappush(self._delayed, (message.delayed_until, seq, stamp))
        elif where == IN_FLIGHT:
            heapq.heappush(self._in_flight, (message.visible_at, seq, stamp))
        elif (group := self._group_of(message)) is None:
            heapq.heappush(self._ready, (seq, stamp))
        else:
            heapq.heappush(self._groups.setdefault(group, []), (seq, stamp))
            self._offer_group(group)

    def promote(self, now: float) -> None:
        """Move every message whose delay or visibility timeout has run out by ``now`` to ready."""
        while self._delayed and self._delayed[0][0] <= now:
            _, seq, stamp = heapq.heappop(self._delayed)
            self.examined += 1
            if self._is_current(seq, stamp):
                self.place(self.live[seq], now)
        while self._in_flight and self._in_flight[0][0] < now:
            _, seq, stamp = heapq.heappop(self._in_flight)
            self.examined += 1
            if self._is_current(seq, stamp):
                message = self.live[seq]
                self.place(message, now)
                if message in self.pending:
                    # the consumer let the visibility timeout lapse: the message is no longer in flight
                    self.unpend(message)

    def next_ready(self, blocked: Callable[[str], bool]) -> Message | None:
        """Take the ready message sent first, skipping FIFO groups ``blocked`` says are in flight.

        The message keeps its (now stale) READY placement until the caller places it again.
        """
        while True:
            ready = self._ready[0] if self._ready else None
            head = self._heads[0] if self._heads else None
            if ready is None and head is None:
                return None
            self.examined += 1
            if head is None or (ready is not None and ready[0] < head[0]):
                seq, stamp = heapq.heappop(self._ready)
                if self._is_current(seq, stamp):
                    return self.live[seq]
                continue
            seq, group = heapq.heappop(self._heads)
            if self._head_of.get(group) != seq:
                continue
            del self._head_of[group]
            message = self._take_group_head(group, blocked)
            if message is not None:
                return message

    def receivable(self) -> bool:
        """Whether a receive may find a message: one ready outside FIFO groups, or a group head not yet
        found in flight. Counting ready messages instead would keep a long poll spinning while every ready
        message waits behind its group's message in flight; a receive drops the heads of such groups (and
        stale entries), so each wakes a waiting receive at most once until its group is offered again."""
        return bool(self._ready or self._heads)

    def _take_group_head(self, group: str, blocked: Callable[[str], bool]) -> Message | None:
        self._drop_stale(group)
        members = self._groups.get(group)
        if members is None:
            return None
        seq, _ = members[0]
        message = self.live[seq]
        if message in self.pending:
            # received with VisibilityTimeout=0 and still visible: moto releases it when it meets it
            self.pending.discard(message)
            self._count_down(group)
        if blocked(group):
            return None
        heapq.heappop(members)
        if members:
            self._offer_group(group)
        else:
            del self._groups[group]
        return message

    def _count_down(self, group: str) -> None:
        left = self.pending_groups[group] - 1
        if left:
            self.pending_groups[group] = left
        else:
            del self.pending_groups[group]

    def _offer_group(self, group: str) -> None:
        """Make sure the group's first ready message is in the heap of group heads."""
        self._drop_stale(group)
        members = self._groups.get(group)
        if not members:
            return
        first = members[0][0]
        offered = self._head_of.get(group)
        if offered is None or first < offered:
            self._head_of[group] = first
            heapq.heappush(self._heads, (first, group))

    def _drop_stale(self, group: str) -> None:
        members = self._groups.get(group)
        if members is None:
            return
        while members and not self._is_current(*members[0]):
            heapq.heappop(members)
            self.examined += 1
        if not members:
            del self._groups[group]

    def _group_of(self, message: Message) -> str | None:
        return message.group_id if self._queue.fifo_queue and message.group_id else None

    def _is_current(self, seq: int, stamp: int) -> bool:
        placement = self._placement.get(seq)
        return placement is not None and placement[0] == stamp

    def available(self) -> list[Message]:
        """Ready messages in send order (moto's ``Queue.messages``); linear, for inspection only."""
        return [message for seq, message in self.live.items() if self._placement[seq][1] == READY]


# -- Queue ------------------------------------------------------------------------------------------


def index_of(queue: Queue) -> QueueIndex:
    """The queue's index, built from moto's list the first time for a queue created before install."""
    index = queue.__dict__.get("_sqs_index")
    if index is None:
        messages = queue.__dict__.pop("_messages", [])
        index = _rebuild(queue, messages)
    return index


def _rebuild(queue: Queue, messages: list[Message]) -> QueueIndex:
    index = QueueIndex(queue)
    now = sqs_models.unix_time_millis()
    for message in messages:
        index.add(message, now)
    for message in queue.__dict__.pop("_pending_messages", ()):
        if message in index:
            index.pend(message)
    queue.__dict__["_sqs_index"] = index
    _indexed_queues.add(queue)
    return index


def _get_messages(self: Queue) -> list[Message]:
    with self._messages_lock:
        return list(index_of(self).live.values())


def _set_messages(self: Queue, messages: list[Message]) -> None:
    _rebuild(self, list(messages))


def _get_pending_messages(self: Queue) -> set[Message]:
    return index_of(self).pending


def _set_pending_messages(self: Queue, pending: set[Message]) -> None:
    index = self.__dict__.get("_sqs_index")
    if index is None:
        self.__dict__["_pending_messages"] = pending
        return
    index.pending = set()
    index.pending_groups = {}
    for message in pending:
        index.pend(message)


def _visible_messages(self: Queue) -> list[Message]:
    with self._messages_lock:
        index = index_of(self)
        index.promote(sqs_models.unix_time_millis())
        return index.available()


def _pending_message_groups(self: Queue) -> set[str]:
    return set(index_of(self).pending_groups)


def _count(where: int) -> Callable[[Queue], int]:
    def count(self: Queue) -> int:
        with self._messages_lock:
            index = index_of(self)
            index.promote(sqs_models.unix_time_millis())
            return index.counts[where]

    return count


def _add_message(self: Queue, message: Message) -> None:
    with self._messages_lock:
        index = index_of(self)
        content_based = self.content_based_deduplication  # type: ignore[attr-defined]
        if self.fifo_queue and (content_based or message.deduplication_id):
            for other in index.duplicates(message.deduplication_id):
                diff = message.sent_timestamp - other.sent_timestamp  # type: ignore[operator]
                if diff / 1000 < DEDUPLICATION_TIME_IN_SECONDS:
                    return
        index.add(message, sqs_models.unix_time_millis())
        self._messages_lock.notify_all()
    _deliver_to_event_source_mappings(self)


def _deliver_to_event_source_mappings(queue: Queue) -> None:
    """moto's Lambda event source mappings, unchanged: a send invokes the function with a batch."""
    for arn, esm in queue.lambda_event_source_mappings.items():
        if not esm.enabled:
            continue
        backend = sqs_backends[queue.account_id][queue.region]
        messages = backend.receive_message(
            queue.name,
            esm.batch_size,
            queue.receive_message_wait_time_seconds,  # type: ignore[attr-defined]
            queue.visibility_timeout,  # type: ignore[attr-defined]
        )
        from moto.awslambda.utils import get_backend

        result = get_backend(queue.account_id, queue.region).send_sqs_batch(arn, messages, queue.queue_arn)
        for m in messages:
            if result:
                backend.delete_message(queue.name, m.receipt_handle)  # type: ignore[arg-type]
            else:
                backend.change_message_visibility(queue.name, m.receipt_handle, visibility_timeout=0)  # type: ignore[arg-type]


def _delete_message(self: Queue, receipt_handle: str) -> None:
    with self._messages_lock:
        if receipt_handle in self.deleted_messages:
            return
        index = index_of(self)
        message = index.receipts.get(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        index.remove(message)
        self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
        if message.group_id is not None:
            self._messages_lock.notify_all()  # its group may be free: a waiting receive can take the next


def _wait_for_messages(self: Queue, timeout: int) -> None:
    def any_ready() -> bool:
        index = index_of(self)
        index.promote(sqs_models.unix_time_millis())
        return index.receivable()

    with self._messages_lock:
        self._messages_lock.wait_for(any_ready, timeout=timeout)


# -- SQSBackend -------------------------------------------------------------------------------------


def _receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    queue = self.get_queue(queue_name)
    polling_end = sqs_models.unix_time() + wait_seconds_timeout
    while True:
        result = _receive_once(queue, count, visibility_timeout, message_attribute_names or [])
        if result or not wait_seconds_timeout or sqs_models.unix_time() > polling_end:
            return result
        queue.wait_for_messages(1)


def _receive_once(
    queue: Queue, count: int, visibility_timeout: int, attribute_names: list[str]
) -> list[Message]:
    result: list[Message] = []
    to_dead_letters: list[Message] = []
    with queue._messages_lock:
        index = index_of(queue)
        now = sqs_models.unix_time_millis()
        index.promote(now)
        taken: dict[str, int] = {}

        def blocked(group: str) -> bool:
            # groups in flight when this call began; this call's own deliveries do not block it
            return index.pending_groups.get(group, 0) - taken.get(group, 0) > 0

        still_visible: list[Message] = []
        redrive = queue.redrive_policy if queue.dead_letter_queue is not None else None
        retention_ms = int(queue.message_retention_period) * 1000  # type: ignore[attr-defined]
        while len(result) < count:
            message = index.next_ready(blocked)
            if message is None:
                break
            if message in index.pending:
                # visible again after a receive with VisibilityTimeout=0: the consumer is done with it
                index.unpend(message)
            if redrive and message.approximate_receive_count >= redrive["maxReceiveCount"]:
                index.remove(message)
                to_dead_letters.append(message)
                continue
            index.pend(message)
            if message.group_id is not None:
                taken[message.group_id] = taken.get(message.group_id, 0) + 1
            message.mark_received(visibility_timeout=visibility_timeout)
            index.note_receipt(message)
            if now > message.visible_at:
                still_visible.append(message)
            else:
                index.place(message, now)
            copy = deepcopy(message)
            sqs_models._filter_message_attributes(copy, attribute_names)
            if message.sent_timestamp + retention_ms <= sqs_models.unix_time() * 1000:  # type: ignore[operator]
                break
            result.append(copy)
        for message in still_visible:
            index.place(message, now)
    for message in to_dead_letters:
        queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
    return result


def _change_message_visibility(
    self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        index = index_of(queue)
        message = index.receipts.get(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid
        hidden_until = sqs_models.unix_time_millis() + int(visibility_timeout) * 1000
        if hidden_until - message.sent_timestamp > _MAX_TOTAL_VISIBILITY_MS:  # type: ignore[operator]
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        now = sqs_models.unix_time_millis()
        index.place(message, now)
        if now > message.visible_at and message in index.pending:
            index.unpend(message)


def _purge_queue(self: SQSBackend, queue_name: str) -> None:
    queue = self.get_queue(queue_name)
    with queue._messages_lock:
        _rebuild(queue, [])


# -- install ----------------------------------------------------------------------------------------

_PATCHES: dict[tuple[type, str], Any] = {
    (Queue, "_messages"): property(_get_messages, _set_messages),
    (Queue, "_pending_messages"): property(_get_pending_messages, _set_pending_messages),
    (Queue, "messages"): property(_visible_messages),
    (Queue, "pending_message_groups"): property(_pending_message_groups),
    (Queue, "approximate_number_of_messages"): property(_count(READY)),
    (Queue, "approximate_number_of_messages_delayed"): property(_count(DELAYED)),
    (Queue, "approximate_number_of_messages_not_visible"): property(_count(IN_FLIGHT)),
    (Queue, "add_message"): _add_message,
    (Queue, "delete_message"): _delete_message,
    (Queue, "wait_for_messages"): _wait_for_messages,
    (SQSBackend, "receive_message"): _receive_message,
    (SQSBackend, "change_message_visibility"): _change_message_visibility,
    (SQSBackend, "purge_queue"): _purge_queue,
}


def install() -> None:
    """Serve every moto SQS queue of this process from an index (idempotent).

    Queues that already exist are indexed on their next call.
    """
    if installed():
        return
    for (owner, name), replacement in _PATCHES.items():
        _ORIGINALS[(owner, name)] = owner.__dict__.get(name)
        setattr(owner, name, replacement)


def uninstall() -> None:
    """Give moto its own SQS code back; indexed queues turn back into moto's lists, in send order."""
    if not installed():
        return
    queues = list(_indexed_queues)
    snapshots = [(queue, list(index_of(queue).live.values()), index_of(queue).pending) for queue in queues]
    for (owner, name), original in _ORIGINALS.items():
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _ORIGINALS.clear()
    for queue, messages, pending in snapshots:
        del queue.__dict__["_sqs_index"]
        queue.__dict__["_messages"] = messages
        queue.__dict__["_pending_messages"] = pending
    _indexed_queues.clear()


def installed() -> bool:
    return bool(_ORIGINALS)


@contextmanager
def indexed(enabled: bool = True) -> Iterator[None]:
    """Run a block with the index installed (or not), restoring the previous state afterwards."""
    before = installed()
    (install if enabled else uninstall)()
    try:
        yield
    finally:
        (install if before else uninstall)()
