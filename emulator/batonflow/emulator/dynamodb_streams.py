"""DynamoDB stream event source mappings: read a table's stream, filter, invoke with Lambda's event shape.

The genuine stream is read (DescribeStream, GetShardIterator, GetRecords on the endpoint's
``dynamodbstreams``), so every write the table sees — TTL deletions made by :mod:`.ttl`, explicit deletes,
anything — reaches the function as on AWS. What Lambda does and we copy: up to ``BatchSize`` records per
invocation, in order per shard; the record shape of :func:`stream_record`; ``FilterCriteria`` (records
matching no pattern are dropped without an invocation, see :func:`matches`); a handler that raises is
retried with the same records (the shard waits), and with ``ReportBatchItemFailures`` the shard resumes at
the first reported sequence number.

Local deviations, on purpose:

* a failed batch is retried after ``failure_backoff_s`` (default 1 s), for ever (Lambda's default
  ``MaximumRetryAttempts`` of -1, without the 24 h record expiry);
* an empty read keeps its shard iterator for a few minutes instead of taking the new one each time: moto
  keeps every iterator it ever issued, and a poll a second would otherwise grow it without end;
* shards are read by one thread per mapping, one after another.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batonflow.emulator.background import BackgroundLoop
from batonflow.emulator.errors import EmulatorError

logger = logging.getLogger(__name__)

_ITERATOR_REUSE_S = 300.0
"""An empty read keeps its iterator this long (AWS lets an iterator live 15 minutes)."""
_SUPPORTED_OPERATORS = ("prefix", "suffix", "exists", "anything-but")


@dataclass(frozen=True)
class StreamSource:
    """One DynamoDB event of one function, with the table's stream resolved."""

    function: str
    stream_arn: str
    region: str
    starting_position: str = "LATEST"
    batch_size: int = 100
    report_batch_item_failures: bool = False
    filters: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.filters:
            check_pattern(pattern)


def check_pattern(pattern: Mapping[str, Any]) -> None:
    """Raise :class:`EmulatorError` for a filter pattern using what :func:`matches` cannot evaluate."""
    for key, expected in pattern.items():
        if isinstance(expected, Mapping):
            check_pattern(expected)
        elif not isinstance(expected, list):
            raise EmulatorError(f"filter pattern {key!r}: expected an object or a list, got {expected!r}")
        else:
            for rule in expected:
                if isinstance(rule, Mapping) and (
                    len(rule) != 1 or next(iter(rule)) not in _SUPPORTED_OPERATORS
                ):
                    raise EmulatorError(
                        f"filter rule {rule!r} is not supported locally ({_SUPPORTED_OPERATORS})"
                    )


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    """Lambda event filtering: every key of the pattern must match; a list matches if any of its rules
    does (an exact value, or ``prefix``, ``suffix``, ``exists``, ``anything-but``); objects nest."""
    for key, expected in pattern.items():
        present = isinstance(value, Mapping) and key in value
        actual = value[key] if present else None
        if isinstance(expected, Mapping):
            if not present or not matches(expected, actual):
                return False
        elif not any(_rule_matches(rule, actual, present) for rule in expected):
            return False
    return True


def _rule_matches(rule: Any, actual: Any, present: bool) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    if not isinstance(rule, Mapping):
        return present and rule in values
    ((operator, argument),) = rule.items()
    if operator == "exists":
        return present == bool(argument)
    if not present:
        return False
    if operator == "prefix":
        return any(isinstance(v, str) and v.startswith(argument) for v in values)
    if operator == "suffix":
        return any(isinstance(v, str) and v.endswith(argument) for v in values)
    excluded = argument if isinstance(argument, list) else [argument]
    return all(v not in excluded for v in values)  # anything-but


def stream_record(record: Mapping[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda puts in ``event["Records"]`` (creation time as epoch
    seconds, the stream's ARN added)."""
    converted = dict(record)
    dynamodb = dict(record.get("dynamodb") or {})
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    converted["dynamodb"] = dynamodb
    converted["eventSourceARN"] = stream_arn
    return converted


class _Shard:
    def __init__(self, shard_id: str, iterator: str, now: float) -> None:
        self.shard_id = shard_id
        self.iterator: str | None = iterator
        self.issued_at = now


class StreamPoller(BackgroundLoop):
    """Feeds one table stream to one function. :meth:`poll_once` is the whole behaviour; the thread
    repeats it. Shard iterators are taken at construction, so ``LATEST`` means "from now on"."""

    def __init__(
        self,
        source: StreamSource,
        streams: Any,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        failure_backoff_s: float = 1.0,
        interval_s: float = 1.0,
        name: str = "",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._streams = streams
        self._invoke = invoke
        self._failure_backoff_s = failure_backoff_s
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._shards: dict[str, _Shard] = {}
        self._finished: set[str] = set()
        """Closed shards read to their end: still listed by DescribeStream for a day, never read again."""
        self._discover(source.starting_position)
        super().__init__(name or f"stream-{source.function}")

    def poll_once(self, *, wait_s: float | None = None) -> int:
        """Read one batch from each shard and hand the records that pass the filters to the function;
        returns how many records were read (filtered out ones included). ``wait_s`` is accepted for the
        SQS poller's signature; a stream read never waits."""
        read = 0
        for shard in list(self._shards.values()):
            read += self._poll_shard(shard)
        if any(shard.iterator is None for shard in self._shards.values()):
            self._discover("TRIM_HORIZON")
        return read

    def _discover(self, position: str) -> None:
        """Take an iterator for each shard not seen yet (a new shard is read from its start); set aside
        closed shards that were read to their end."""
        self._finished.update(key for key, shard in self._shards.items() if shard.iterator is None)
        self._shards = {key: shard for key, shard in self._shards.items() if shard.iterator is not None}
        description = self._streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards or shard_id in self._finished:
                continue
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.source.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]
            self._shards[shard_id] = _Shard(shard_id, iterator, self._monotonic())

    def _poll_shard(self, shard: _Shard) -> int:
        if shard.iterator is None:
            return 0
        response = self._streams.get_records(ShardIterator=shard.iterator, Limit=self.source.batch_size)
        records = response.get("Records", [])
        following = response.get("NextShardIterator")
        if not records:
            if following is None or self._monotonic() - shard.issued_at >= _ITERATOR_REUSE_S:
                shard.iterator, shard.issued_at = following, self._monotonic()
            return 0
        failed_at = self._deliver(records)
        if failed_at is None:
            shard.iterator, shard.issued_at = following, self._monotonic()
        else:
            shard.iterator = self._streams.get_shard_iterator(
                StreamArn=self.source.stream_arn,
                ShardId=shard.shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=failed_at,
            )["ShardIterator"]
            shard.issued_at = self._monotonic()
            self._stop.wait(self._failure_backoff_s)
        return len(records)

    def _deliver(self, records: Sequence[Mapping[str, Any]]) -> str | None:
        """Invoke with the records that pass the filters; the sequence number to resume at on failure."""
        event_records = [stream_record(record, stream_arn=self.source.stream_arn) for record in records]
        wanted = [
            r
            for r in event_records
            if not self.source.filters or any(matches(p, r) for p in self.source.filters)
        ]
        if not wanted:
            return None
        try:
            result = self._invoke({"Records": wanted})
        except Exception:
            logger.exception("%s failed on a batch of %d stream records", self.source.function, len(wanted))
            return str(wanted[0]["dynamodb"]["SequenceNumber"])
        return self._first_failure(result, wanted)

    def _first_failure(self, result: Any, records: Sequence[Mapping[str, Any]]) -> str | None:
        """The earliest reported failure; an invalid report retries the whole batch, as Lambda does."""
        if not self.source.report_batch_item_failures or not isinstance(result, Mapping):
            return None
        failures = result.get("batchItemFailures") or []
        sequence = [str(record["dynamodb"]["SequenceNumber"]) for record in records]
        entries = failures if isinstance(failures, list) else [None]  # not a list: invalid as a whole
        reported = [f.get("itemIdentifier") if isinstance(f, Mapping) else None for f in entries]
        if any(item not in sequence for item in reported):
            logger.error("%s returned invalid batchItemFailures %r", self.source.function, failures)
            return sequence[0]
        return min(reported, key=sequence.index) if reported else None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                read = self.poll_once()
            except Exception:
                logger.exception("reading the stream of %s failed", self.source.function)
                read = 0
            if not read:
                self._stop.wait(self._interval_s)
