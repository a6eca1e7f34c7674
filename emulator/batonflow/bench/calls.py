"""Every AWS call made in this process, counted with botocore's event hooks and attributed to its caller.

:meth:`CallLedger.install` adds two handlers to ``botocore.handlers.BUILTIN_HANDLERS``, the list every new
botocore session registers, so the clients the handlers, the emulator's pollers and the workers build
later all report here without a line of test code in them. ``before-parameter-build`` sees the call's
parameters, ``after-call`` its parsed answer (errors included: a failed conditional write is billed).

A function running in sandbox processes (:class:`~batonflow.emulator.sandboxes.SandboxPool`) makes its
calls where these hooks are not: each sandbox records them with a :class:`CallRecorder`, and they come
back with the invocation's response to be counted here (:meth:`CallLedger.replay`).

Who made a call is the *role*: the function whose invocation is running on the thread (set by the bench's
invoker with :meth:`CallLedger.acting`), else what the thread is, from its name: the emulator's SQS pollers
stand for Lambda's event source mappings (whose SQS requests AWS bills), its stream readers and TTL
sweeps for work AWS does for free, ``baton-sdk-*`` threads for workers.

Besides counting calls, the ledger turns DynamoDB calls into capacity units with the published rules
(reads per 4 KB, writes per 1 KB, transactions twice, a GSI write for every index whose keys or
projected attributes a write touches) and SQS calls into billed requests (per 64 KB chunk). Item sizes
come from what the calls carry; an update is charged at the largest size the ledger has seen for that
item, since DynamoDB bills the larger of the item before and after.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from batonflow.emulator.botocore_hooks import SessionHooks
from batonflow.store.attrs import item_size, value_size

_READ_UNIT = 4096
_WRITE_UNIT = 1024
_SQS_CHUNK = 65536

UNBILLED_ROLES = ("emulator", "bench")
"""Roles left out of the bill: what AWS does for free (TTL deletes, Lambda's own stream reads) and the
benchmark's own bookkeeping (waiting for workflows to finish, checking their outputs)."""


@dataclass(frozen=True)
class Index:
    """What a global secondary index stores: its key attributes and, unless it projects all, the others."""

    keys: frozenset[str]
    projected: frozenset[str] | None
    """Non-key attributes copied into the index; None for ``ALL``."""

    def write_units(self, before: set[str] | None, after: set[str], changed: set[str]) -> int:
        """Index writes for a table write: ``before``/``after`` are the item's attribute names (``before``
        None for a new item), ``changed`` the attributes whose value the write changed.

        An item is in the index while it has every key attribute; moving it (a key changed) deletes the old
        entry and writes a new one; a change to projected attributes alone rewrites the entry."""
        was_in = before is not None and self.keys <= before
        is_in = self.keys <= after
        if not was_in and not is_in:
            return 0
        if was_in != is_in:
            return 1
        if self.keys & changed:
            return 2
        if self.projected is None or self.projected & changed:
            return 1
        return 0


@dataclass
class Tally:
    """What one stretch of the run cost: calls by (role, service, operation) and the billed units."""

    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    read_units: Counter[str] = field(default_factory=Counter)
    write_units: Counter[str] = field(default_factory=Counter)
    items_read: Counter[str] = field(default_factory=Counter)
    items_written: Counter[str] = field(default_factory=Counter)
    sqs_requests: Counter[tuple[str, bool]] = field(default_factory=Counter)
    """Billed SQS requests by (role, FIFO queue)."""
    s3_requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    """S3 requests by (role, "put" or "get" price class)."""
    idle_receives: Counter[str] = field(default_factory=Counter)
    """ReceiveMessage calls that found nothing, by role: a cost of waiting, not of tasks, so they are kept
    out of ``calls`` and ``sqs_requests``."""


class CallLedger(SessionHooks):
    """Counts calls while installed; :meth:`take` hands over what was counted since the last take."""

    def __init__(self, indexes: Mapping[str, list[Index]] | None = None) -> None:
        self.indexes: dict[str, list[Index]] = dict(indexes or {})
        """Table name -> its global secondary indexes (see :func:`indexes_of`)."""
        self._lock = threading.Lock()
        self._tally = Tally()
        self._items: dict[tuple[str, str], _Shadow] = {}
        """What the ledger knows of each item it has seen: its size and attribute values."""
        self._local = threading.local()
        super().__init__([("before-parameter-build", self._before), ("after-call", self._after)])

    # -- installation and attribution -------------------------------------------------------------------

    @contextmanager
    def acting(self, role: str) -> Iterator[None]:
        """Attribute this thread's calls to ``role`` (a function's invocation, a phase of the bench)."""
        previous = getattr(self._local, "role", None)
        self._local.role = role
        try:
            yield
        finally:
            self._local.role = previous

    def role(self) -> str:
        explicit = getattr(self._local, "role", None)
        if explicit:
            return explicit
        name = threading.current_thread().name
        if name.startswith("sqs-"):
            return "event-source"
        if name.startswith("baton-sdk"):
            return "worker"
        if name.startswith(("stream-", "ttl-")):
            return "emulator"
        return "bench"

    def take(self) -> Tally:
        """What was counted since the last take; counting goes on from zero."""
        with self._lock:
            tally, self._tally = self._tally, Tally()
        return tally

    # -- the hooks ------------------------------------------------------------------------------------

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["baton_bench"] = (self.role(), dict(params))

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        role, params = context.get("baton_bench", (self.role(), {}))
        self._count(role, model.service_model.endpoint_prefix, model.name, params, parsed)

    def replay(self, calls: list[RecordedCall]) -> None:
        """Count calls made in another process (a function's sandbox) as this thread's role's."""
        role = self.role()
        for call in calls:
            self._count(role, call.service, call.operation, call.params, call.parsed)

    def _count(
        self, role: str, service: str, operation: str, params: dict[str, Any], parsed: dict[str, Any]
    ) -> None:
        with self._lock:
            if service == "sqs" and operation == "ReceiveMessage" and not parsed.get("Messages"):
                self._tally.idle_receives[role] += 1
                return
            self._tally.calls[(role, service, operation)] += 1
            if service == "dynamodb":
                self._dynamodb(role, operation, params, parsed)
            elif service == "sqs":
                self._sqs(role, operation, params)
            elif service == "s3":
                price = "get" if operation in ("GetObject", "HeadObject") else "put"
                self._tally.s3_requests[(role, price)] += 1

    # -- SQS ----------------------------------------------------------------------------------------------

    def _sqs(self, role: str, operation: str, params: dict[str, Any]) -> None:
        fifo = str(params.get("QueueUrl", "")).endswith(".fifo")
        if operation == "SendMessage":
            size = len(str(params.get("MessageBody", "")).encode())
        elif operation == "SendMessageBatch":
            size = sum(len(str(entry.get("MessageBody", "")).encode()) for entry in params.get("Entries", []))
        else:
            size = 0
        self._tally.sqs_requests[(role, fifo)] += max(1, math.ceil(size / _SQS_CHUNK))

    # -- DynamoDB -----------------------------------------------------------------------------------------

    def _dynamodb(self, role: str, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        reader = _DYNAMODB_READS.get(operation)
        if reader is not None:
            reader(self, role, params, parsed)
            return
        writer = _DYNAMODB_WRITES.get(operation)
        if writer is not None:
            writer(self, role, params, parsed)

    def _read(self, role: str, items: list[dict[str, Any]], table: str) -> int:
        """Remember the whole items read; the bytes read."""
        total = 0
        for item in items:
            total += item_size(item)
            key = _item_key(table, item)
            if key is not None:
                self._items[key] = _Shadow.of(item)
        self._tally.items_read[role] += len(items)
        return total

    def _read_units(self, role: str, size: int, consistent: bool, factor: int = 1) -> None:
        units = max(1, math.ceil(size / _READ_UNIT)) * factor
        self._tally.read_units[role] += units if consistent else units / 2

    def _get_item(self, role: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        item = parsed.get("Item")
        consistent = bool(params.get("ConsistentRead"))
        whole = "ProjectionExpression" not in params
        size = self._read(role, [item] if item else [], params["TableName"] if whole else "")
        self._read_units(role, size, consistent)

    def _batch_get(self, role: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        for table, items in (parsed.get("Responses") or {}).items():
            request = params.get("RequestItems", {}).get(table, {})
            consistent = bool(request.get("ConsistentRead"))
            whole = "ProjectionExpression" not in request
            for item in items:
                self._read_units(role, self._read(role, [item], table if whole else ""), consistent)

    def _query(self, role: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        consistent = bool(params.get("ConsistentRead"))
        items = parsed.get("Items") or []
        whole = "ProjectionExpression" not in params and "IndexName" not in params
        size = self._read(role, items, params["TableName"] if whole else "")
        self._read_units(role, size, consistent)

    def _transact_get(self, role: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        for request, answer in zip(
            params.get("TransactItems", []), parsed.get("Responses") or [], strict=False
        ):
            item = answer.get("Item")
            table = request["Get"]["TableName"]
            self._read_units(role, self._read(role, [item] if item else [], table), True, factor=2)

    def _charge_write(
        self, role: str, table: str, before: _Shadow | None, after: _Shadow, factor: int
    ) -> None:
        """Table units by the larger of the item before and after; index units by what changed."""
        units = max(1, math.ceil(max(after.size, before.size if before else 0) / _WRITE_UNIT))
        changed = after.changed_since(before)
        names_before = set(before.values) if before else None
        names_after = set(after.values)
        indexes = self.indexes.get(table, [])
        units += sum(index.write_units(names_before, names_after, changed) for index in indexes)
        self._tally.write_units[role] += units * factor
        self._tally.items_written[role] += 1

    def _put(self, role: str, params: dict[str, Any], parsed: dict[str, Any], factor: int = 1) -> None:
        item = params["Item"]
        key = _item_key(params["TableName"], item)
        before = self._items.get(key) if key else None
        after = _Shadow.of(item)
        self._charge_write(role, params["TableName"], before, after, factor)
        if key and "Error" not in parsed:
            self._items[key] = after

    def _update(self, role: str, params: dict[str, Any], parsed: dict[str, Any], factor: int = 1) -> None:
        key = _item_key(params["TableName"], params["Key"])
        before = self._items.get(key) if key else None
        after = (before or _Shadow.of(params["Key"])).updated(params)
        self._charge_write(role, params["TableName"], before, after, factor)
        if key and "Error" not in parsed:
            returned = parsed.get("Attributes")
            whole = returned is not None and params.get("ReturnValues") == "ALL_NEW"
            self._items[key] = _Shadow.of(returned) if whole else after

    def _delete(self, role: str, params: dict[str, Any], parsed: dict[str, Any], factor: int = 1) -> None:
        key = _item_key(params["TableName"], params["Key"])
        before = self._items.get(key) if key else None
        size = before.size if before else item_size(params["Key"])
        names = set(before.values) if before else set(params["Key"])
        index_units = sum(index.keys <= names for index in self.indexes.get(params["TableName"], []))
        self._tally.write_units[role] += (max(1, math.ceil(size / _WRITE_UNIT)) + index_units) * factor
        self._tally.items_written[role] += 1
        if key and "Error" not in parsed:
            self._items.pop(key, None)

    def _batch_write(self, role: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    self._put(role, {"TableName": table, "Item": request["PutRequest"]["Item"]}, parsed)
                elif "DeleteRequest" in request:
                    self._delete(role, {"TableName": table, "Key": request["DeleteRequest"]["Key"]}, parsed)

    def _transact_write(self, role: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        for request in params.get("TransactItems", []):
            if "Put" in request:
                self._put(role, request["Put"], parsed, factor=2)
            elif "Update" in request:
                self._update(role, request["Update"], parsed, factor=2)
            elif "Delete" in request:
                self._delete(role, request["Delete"], parsed, factor=2)
            elif "ConditionCheck" in request:
                self._tally.read_units[role] += 2


@dataclass(frozen=True)
class RecordedCall:
    """One AWS call as a :class:`CallRecorder` saw it: what the ledger needs to count it."""

    service: str
    operation: str
    params: dict[str, Any]
    parsed: dict[str, Any]


class CallRecorder(SessionHooks):
    """Keeps every AWS call of a process whose ledger is in another one (a function's sandbox) until
    :meth:`drain` hands them over, to be counted with :meth:`CallLedger.replay`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []
        super().__init__([("before-parameter-build", self._before), ("after-call", self._after)])

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["baton_bench"] = dict(params)

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        if service in ("dynamodb", "sqs"):
            call = RecordedCall(service, model.name, context.get("baton_bench", {}), parsed)
        else:  # only the operation counts, and S3 bodies are streams that cannot leave the process
            call = RecordedCall(service, model.name, {}, {})
        with self._lock:
            self._calls.append(call)

    def drain(self) -> list[RecordedCall]:
        with self._lock:
            calls, self._calls = self._calls, []
        return calls


def record_sandbox_calls() -> Callable[[], list[RecordedCall]]:
    """A sandbox probe's start (:class:`~batonflow.emulator.sandboxes.SandboxProbe`): record the calls
    of this process from now on; the returned function hands over those made since it last ran."""
    return CallRecorder().install().drain


_DYNAMODB_READS = {
    "GetItem": CallLedger._get_item,
    "BatchGetItem": CallLedger._batch_get,
    "Query": CallLedger._query,
    "Scan": CallLedger._query,
    "TransactGetItems": CallLedger._transact_get,
}
_DYNAMODB_WRITES = {
    "PutItem": CallLedger._put,
    "UpdateItem": CallLedger._update,
    "DeleteItem": CallLedger._delete,
    "BatchWriteItem": CallLedger._batch_write,
    "TransactWriteItems": CallLedger._transact_write,
}


def indexes_of(dynamodb: Any, table: str) -> list[Index]:
    """A table's global secondary indexes, as :class:`Index` (one DescribeTable)."""
    description = dynamodb.describe_table(TableName=table)["Table"]
    indexes = []
    for index in description.get("GlobalSecondaryIndexes") or []:
        projection = index.get("Projection") or {}
        kind = projection.get("ProjectionType", "ALL")
        projected = None if kind == "ALL" else frozenset(projection.get("NonKeyAttributes") or ())
        indexes.append(Index(frozenset(key["AttributeName"] for key in index["KeySchema"]), projected))
    return indexes


def _item_key(table: str, item: Mapping[str, Any] | None) -> tuple[str, str] | None:
    if not table or not item or "PK" not in item or "SK" not in item:
        return None
    return table, f"{item['PK']}|{item['SK']}"


_CHANGED = object()
"""The value of an attribute an update changed in a way the ledger does not evaluate (ADD, arithmetic)."""


@dataclass(frozen=True)
class _Shadow:
    """The ledger's idea of a stored item: each attribute's value (or :data:`_CHANGED`) and size."""

    values: dict[str, Any]
    sizes: dict[str, int]

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> _Shadow:
        return cls(
            {name: _canonical(value) for name, value in item.items()},
            {name: len(name.encode()) + value_size(value) for name, value in item.items()},
        )

    @property
    def size(self) -> int:
        return sum(self.sizes.values())

    def changed_since(self, before: _Shadow | None) -> set[str]:
        if before is None:
            return set(self.values)
        names = set(self.values) | set(before.values)
        return {
            name
            for name in names
            if self.values.get(name) is _CHANGED or self.values.get(name) != before.values.get(name)
        }

    def updated(self, params: Mapping[str, Any]) -> _Shadow:
        """This item after an UpdateItem's update expression (top-level attributes only)."""
        names = params.get("ExpressionAttributeNames") or {}
        operands = params.get("ExpressionAttributeValues") or {}
        values, sizes = dict(self.values), dict(self.sizes)
        for action, clause in _update_clauses(params.get("UpdateExpression", "")):
            target, _, operand = clause.partition("=") if action == "SET" else clause.partition(" ")
            name = _top_level(target.strip(), names)
            if action == "REMOVE":
                values.pop(name, None)
                sizes.pop(name, None)
                continue
            placeholders = re.findall(r":[A-Za-z0-9_]+", operand)
            plain = action == "SET" and operand.strip() in operands
            values[name] = _canonical(operands[operand.strip()]) if plain else _CHANGED
            known = [operands[placeholder] for placeholder in placeholders if placeholder in operands]
            sizes[name] = len(name.encode()) + sum(value_size(value) for value in known)
        return _Shadow(values, sizes)


def _canonical(value: Mapping[str, Any]) -> str:
    """An attribute value as comparable text (binary values as hex)."""
    return json.dumps(value, sort_keys=True, default=lambda raw: bytes(raw).hex())


def _update_clauses(expression: str) -> Iterator[tuple[str, str]]:
    """(action, clause) for each comma-separated clause of SET, REMOVE, ADD and DELETE sections."""
    for section in re.split(r"(?i)\b(?=SET\b|REMOVE\b|ADD\b|DELETE\b)", expression):
        action, _, body = section.strip().partition(" ")
        if not body:
            continue
        depth, current = 0, ""
        for char in body + ",":
            if char == "," and depth == 0:
                yield action.upper(), current.strip()
                current = ""
                continue
            depth += {"(": 1, ")": -1}.get(char, 0)
            current += char


def _top_level(path: str, names: Mapping[str, str]) -> str:
    first = re.split(r"[.\[]", path, maxsplit=1)[0]
    return names.get(first, first)
