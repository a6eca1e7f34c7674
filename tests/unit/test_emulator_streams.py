"""The emulator's DynamoDB stream event source against an in-memory stream: filters, retries, shards."""

from __future__ import annotations

from typing import Any

from batonflow.emulator.dynamodb_streams import StreamPoller, StreamSource

HEADERS_REMOVED = ({"eventName": ["REMOVE"], "dynamodb": {"Keys": {"SK": {"S": ["#HEADER"]}}}},)


def record(sequence: int, event_name: str = "REMOVE", sk: str = "#HEADER") -> dict[str, Any]:
    keys = {"PK": {"S": f"WF#{sequence}"}, "SK": {"S": sk}}
    return {"eventName": event_name, "dynamodb": {"Keys": keys, "SequenceNumber": str(sequence)}}


class Streams:
    """DescribeStream, GetShardIterator and GetRecords over lists of records; a closed shard ends."""

    def __init__(self, shards: dict[str, list[dict[str, Any]]], closed: set[str] | None = None) -> None:
        self.shards = shards
        self.closed = closed or set()

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": shard} for shard in self.shards]}}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, SequenceNumber: str = ""
    ) -> dict[str, Any]:
        records = self.shards[ShardId]
        position = {"TRIM_HORIZON": 0, "LATEST": len(records)}.get(ShardIteratorType)
        if position is None:
            position = [r["dynamodb"]["SequenceNumber"] for r in records].index(SequenceNumber)
        return {"ShardIterator": f"{ShardId}:{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, position = ShardIterator.split(":")
        records = self.shards[shard][int(position) : int(position) + Limit]
        following = int(position) + len(records)
        ended = shard in self.closed and following >= len(self.shards[shard])
        return {"Records": records, "NextShardIterator": None if ended else f"{shard}:{following}"}


class Function:
    def __init__(self, answers: list[Any] | None = None) -> None:
        self.events: list[list[str]] = []
        self.answers = answers or []

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        answer = self.answers.pop(0) if self.answers else {"batchItemFailures": []}
        if isinstance(answer, Exception):
            raise answer
        return answer


def poller(streams: Streams, function: Function, *, batch_size: int = 10, **source: Any) -> StreamPoller:
    options: dict[str, Any] = {"starting_position": "TRIM_HORIZON", "filters": HEADERS_REMOVED, **source}
    return StreamPoller(
        StreamSource(function="Fn", stream_arn="arn:stream", region="r", batch_size=batch_size, **options),
        streams,
        function,
        failure_backoff_s=0,
    )


def test_records_that_match_no_filter_are_read_but_never_delivered():
    function = Function()
    streams = Streams({"s1": [record(1), record(2, "MODIFY"), record(3, sk="T#t"), record(4)]})

    assert poller(streams, function).poll_once() == 4

    assert function.events == [["1", "4"]]


def test_latest_starts_after_what_the_stream_holds_already():
    function = Function()
    streams = Streams({"s1": [record(1)]})
    reader = poller(streams, function, starting_position="LATEST")
    streams.shards["s1"].append(record(2))

    reader.poll_once()

    assert function.events == [["2"]]


def test_a_raising_function_gets_the_same_batch_again():
    function = Function([RuntimeError("down")])
    reader = poller(Streams({"s1": [record(1), record(2)]}), function)

    reader.poll_once()
    reader.poll_once()
    reader.poll_once()

    assert function.events == [["1", "2"], ["1", "2"]]


def test_reported_failures_resume_the_shard_at_the_first_of_them():
    function = Function([{"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}])
    reader = poller(
        Streams({"s1": [record(1), record(2), record(3)]}), function, report_batch_item_failures=True
    )

    reader.poll_once()
    reader.poll_once()

    assert function.events == [["1", "2", "3"], ["2", "3"]]


def test_a_closed_shard_is_read_to_its_end_once_and_a_new_shard_from_its_start():
    function = Function()
    streams = Streams({"s1": [record(1)]}, closed={"s1"})
    reader = poller(streams, function, batch_size=1)
    streams.shards["s2"] = [record(2)]

    reader.poll_once()  # s1 ends: the stream is described again, s2 found
    reader.poll_once()
    reader.poll_once()

    assert function.events == [["1"], ["2"]]


def test_an_invalid_failure_report_retries_the_whole_batch():
    function = Function([{"batchItemFailures": [{"itemIdentifier": "no-such-record"}]}])
    reader = poller(Streams({"s1": [record(1), record(2)]}), function, report_batch_item_failures=True)

    reader.poll_once()
    reader.poll_once()

    assert function.events == [["1", "2"], ["1", "2"]]
