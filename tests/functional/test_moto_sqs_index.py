"""The indexed SQS queues behave as moto's own, call for call, and their work does not grow with depth.

Every behavioural test runs twice through the ``sqs`` fixture: against plain moto and with
:mod:`batonflow.emulator.moto_sqs_index` installed. moto's SQS clock (``moto.sqs.models.unix_time``) is
replaced by a fake one, so visibility timeouts, delays and retention are crossed by moving it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sqs import models as sqs_models

from batonflow.emulator import moto_sqs_index

REGION = "us-east-1"


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1_700_000_000.0

    def advance(self, seconds: float) -> None:
        self.now_s += seconds

    def unix_time(self, dt: Any = None) -> float:
        return self.now_s

    def unix_time_millis(self, dt: Any = None) -> float:
        return self.now_s * 1000.0


@dataclass
class Sqs:
    client: Any
    clock: FakeClock

    def queue(self, name: str, **attributes: Any) -> str:
        attributes = {key: str(value) for key, value in attributes.items()}
        return self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    def send(self, url: str, *bodies: str, **kwargs: Any) -> None:
        for body in bodies:
            self.client.send_message(QueueUrl=url, MessageBody=body, **kwargs)

    def receive(self, url: str, count: int = 10, **kwargs: Any) -> list[dict[str, Any]]:
        return self.client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=count, MessageSystemAttributeNames=["All"], **kwargs
        ).get("Messages", [])

    def bodies(self, url: str, count: int = 10, **kwargs: Any) -> list[str]:
        return [message["Body"] for message in self.receive(url, count, **kwargs)]

    def counts(self, url: str) -> tuple[int, int, int]:
        attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            int(attributes["ApproximateNumberOfMessagesDelayed"]),
        )

    def arn(self, url: str) -> str:
        attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def hide(self, url: str, message: dict[str, Any], seconds: int) -> None:
        self.client.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=seconds
        )

    def delete(self, url: str, message: dict[str, Any]) -> None:
        self.client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    clock = FakeClock()
    monkeypatch.setattr(sqs_models, "unix_time", clock.unix_time)
    monkeypatch.setattr(sqs_models, "unix_time_millis", clock.unix_time_millis)
    return clock


@pytest.fixture(params=["moto", "indexed"])
def sqs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sqs]:
    clock = _aws_environment(monkeypatch)
    with moto_sqs_index.indexed(request.param == "indexed"), mock_aws():
        yield Sqs(boto3.client("sqs", region_name=REGION), clock)


@pytest.fixture
def indexed_sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sqs]:
    clock = _aws_environment(monkeypatch)
    with moto_sqs_index.indexed(), mock_aws():
        yield Sqs(boto3.client("sqs", region_name=REGION), clock)


def _error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


# -- standard queues --------------------------------------------------------------------------------


def test_messages_come_in_send_order_at_most_max_number_at_a_time(sqs: Sqs) -> None:
    url = sqs.queue("q")
    sqs.send(url, *(f"m{i}" for i in range(13)))

    assert sqs.bodies(url, 4) == ["m0", "m1", "m2", "m3"]
    assert sqs.bodies(url, 10) == [f"m{i}" for i in range(4, 13)]
    assert sqs.bodies(url) == []
    assert sqs.counts(url) == (0, 13, 0)


def test_a_received_message_is_hidden_until_its_visibility_timeout_has_passed(sqs: Sqs) -> None:
    url = sqs.queue("q", VisibilityTimeout=30)
    sqs.send(url, "a", "b")
    (first,) = sqs.receive(url, 1)
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"

    sqs.clock.advance(30)
    assert sqs.bodies(url) == ["b"]  # visible only once the timeout is strictly over
    assert sqs.counts(url) == (0, 2, 0)

    sqs.clock.advance(0.001)
    (again,) = sqs.receive(url, 10, VisibilityTimeout=5)
    assert again["Body"] == "a"
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    sqs.clock.advance(29)
    # a's second timeout (5 s) has run out, b's (30 s from the second receive) has not
    assert sqs.bodies(url) == ["a"]
    sqs.clock.advance(1)
    assert sqs.bodies(url) == ["b"]


def test_a_zero_visibility_timeout_leaves_the_message_visible(sqs: Sqs) -> None:
    url = sqs.queue("q")
    sqs.send(url, "a")
    assert sqs.bodies(url, VisibilityTimeout=0) == ["a"]
    (again,) = sqs.receive(url, VisibilityTimeout=0)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert sqs.counts(url) == (1, 0, 0)


def test_delayed_messages_wait_for_their_timer(sqs: Sqs) -> None:
    url = sqs.queue("q", DelaySeconds=5)
    sqs.send(url, "queue-delay")
    sqs.send(url, "own-delay", DelaySeconds=20)
    sqs.send(url, "no-delay", DelaySeconds=0)
    assert sqs.counts(url) == (1, 0, 2)
    assert sqs.bodies(url) == ["no-delay"]

    sqs.clock.advance(5)
    assert sqs.bodies(url) == ["queue-delay"]
    sqs.clock.advance(14)
    assert sqs.bodies(url) == []
    assert sqs.counts(url) == (0, 2, 1)
    sqs.clock.advance(1)
    assert sqs.bodies(url) == ["own-delay"]


def test_delete_by_any_receipt_handle_the_message_ever_had(sqs: Sqs) -> None:
    url = sqs.queue("q", VisibilityTimeout=1)
    sqs.send(url, "a", "b")
    (old,) = sqs.receive(url, 1)
    sqs.clock.advance(2)
    (new,) = sqs.receive(url, 1)
    assert new["Body"] == "a" and new["ReceiptHandle"] != old["ReceiptHandle"]

    sqs.delete(url, old)
    sqs.delete(url, new)  # deleting twice is not an error
    with pytest.raises(ClientError) as error:
        sqs.client.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert _error_code(error) == "ReceiptHandleIsInvalid"
    sqs.clock.advance(2)
    assert sqs.bodies(url) == ["b"]


def test_delete_message_batch_reports_each_entry(sqs: Sqs) -> None:
    url = sqs.queue("q")
    sqs.send(url, "a", "b", "c")
    received = sqs.receive(url)
    answer = sqs.client.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": received[0]["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "nope"},
            {"Id": "c", "ReceiptHandle": received[2]["ReceiptHandle"]},
        ],
    )
    assert sorted(entry["Id"] for entry in answer["Successful"]) == ["a", "c"]
    assert [(entry["Id"], entry["Code"]) for entry in answer["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    sqs.clock.advance(31)
    assert sqs.bodies(url) == ["b"]


def test_change_message_visibility_hides_or_releases_a_message(sqs: Sqs) -> None:
    url = sqs.queue("q", VisibilityTimeout=30)
    sqs.send(url, "a", "b", "c")
    a, b, c = sqs.receive(url)
    sqs.hide(url, a, 0)
    answer = sqs.client.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "b", "ReceiptHandle": b["ReceiptHandle"], "VisibilityTimeout": 100},
            {"Id": "bad", "ReceiptHandle": "nope", "VisibilityTimeout": 5},
            {"Id": "c", "ReceiptHandle": c["ReceiptHandle"], "VisibilityTimeout": 1},
        ],
    )
    assert sorted(entry["Id"] for entry in answer["Successful"]) == ["b", "c"]
    assert [entry["Id"] for entry in answer["Failed"]] == ["bad"]

    sqs.clock.advance(0.001)
    (a,) = sqs.receive(url)
    assert a["Body"] == "a"
    sqs.delete(url, a)
    sqs.clock.advance(1)
    (c,) = sqs.receive(url)
    assert c["Body"] == "c"
    sqs.delete(url, c)
    sqs.clock.advance(98)
    assert sqs.bodies(url) == []
    sqs.clock.advance(1)
    assert sqs.bodies(url) == ["b"]
    with pytest.raises(ClientError) as error:
        sqs.hide(url, b, 43200)
    assert _error_code(error) == "InvalidParameterValue"


def test_a_deleted_message_cannot_change_visibility(sqs: Sqs) -> None:
    url = sqs.queue("q")
    sqs.send(url, "a")
    (a,) = sqs.receive(url)
    sqs.delete(url, a)
    with pytest.raises(ClientError) as error:
        sqs.hide(url, a, 0)
    assert _error_code(error) == "ReceiptHandleIsInvalid"


def test_message_attributes_are_filtered_per_receive_not_in_the_queue(sqs: Sqs) -> None:
    url = sqs.queue("q", VisibilityTimeout=1)
    attributes = {
        "Kind": {"DataType": "String", "StringValue": "x"},
        "Other": {"DataType": "Number", "StringValue": "1"},
    }
    sqs.client.send_message(QueueUrl=url, MessageBody="a", MessageAttributes=attributes)
    (first,) = sqs.receive(url, MessageAttributeNames=["Kind"])
    assert set(first["MessageAttributes"]) == {"Kind"}
    sqs.clock.advance(2)
    (second,) = sqs.receive(url, MessageAttributeNames=["All"])
    assert set(second["MessageAttributes"]) == {"Kind", "Other"}


def test_purge_forgets_every_message_and_its_receipt_handles(sqs: Sqs) -> None:
    url = sqs.queue("q")
    sqs.send(url, "a", "b", "c")
    (a,) = sqs.receive(url, 1)
    sqs.client.purge_queue(QueueUrl=url)
    assert sqs.counts(url) == (0, 0, 0)
    with pytest.raises(ClientError) as error:
        sqs.delete(url, a)
    assert _error_code(error) == "ReceiptHandleIsInvalid"
    sqs.send(url, "d")
    assert sqs.bodies(url) == ["d"]


def test_messages_past_the_retention_period_stop_a_receive(sqs: Sqs) -> None:
    url = sqs.queue("q", MessageRetentionPeriod=60)
    sqs.send(url, "old")
    sqs.clock.advance(61)
    sqs.send(url, "new")
    assert sqs.bodies(url) == []


def test_a_long_poll_returns_a_message_sent_while_it_waits(sqs: Sqs) -> None:
    url = sqs.queue("q")
    received: list[list[str]] = []
    waiting = threading.Thread(target=lambda: received.append(sqs.bodies(url, WaitTimeSeconds=20)))
    waiting.start()
    sqs.send(url, "late")
    waiting.join(timeout=30)
    assert received == [["late"]]


# -- dead-letter queues -----------------------------------------------------------------------------


def test_a_message_moves_to_the_dead_letter_queue_after_max_receive_count(sqs: Sqs) -> None:
    dlq = sqs.queue("dlq")
    dlq_arn = sqs.arn(dlq)
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.queue("q", VisibilityTimeout=10, RedrivePolicy=policy)
    sqs.send(url, "poison", "fine")

    assert sqs.bodies(url, 1) == ["poison"]
    sqs.clock.advance(11)
    assert sqs.bodies(url, 1) == ["poison"]
    sqs.clock.advance(11)
    assert sqs.bodies(url) == ["fine"]
    assert sqs.counts(url) == (0, 1, 0)
    (dead,) = sqs.receive(dlq)
    assert dead["Body"] == "poison"
    assert dead["Attributes"]["ApproximateReceiveCount"] == "3"


# -- FIFO queues ------------------------------------------------------------------------------------


def _fifo(sqs: Sqs, name: str = "q.fifo", **attributes: Any) -> str:
    return sqs.queue(name, FifoQueue="true", VisibilityTimeout=30, **attributes)


def _send_fifo(sqs: Sqs, url: str, group: str, body: str, dedup: str | None = None) -> None:
    sqs.client.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=dedup or body
    )


def test_a_fifo_group_with_a_message_in_flight_holds_back_the_rest(sqs: Sqs) -> None:
    url = _fifo(sqs)
    for group, body in [("A", "a1"), ("A", "a2"), ("B", "b1"), ("A", "a3"), ("B", "b2")]:
        _send_fifo(sqs, url, group, body)

    (a1,) = sqs.receive(url, 1)
    assert a1["Body"] == "a1" and a1["Attributes"]["MessageGroupId"] == "A"
    # one call delivers several messages of a group that was free when it began
    assert sqs.bodies(url) == ["b1", "b2"]
    assert sqs.bodies(url) == []
    sqs.delete(url, a1)
    assert sqs.bodies(url) == ["a2", "a3"]


def test_a_lapsed_visibility_timeout_frees_the_fifo_group(sqs: Sqs) -> None:
    url = _fifo(sqs)
    for body in ("a1", "a2"):
        _send_fifo(sqs, url, "A", body)
    assert sqs.bodies(url, 1) == ["a1"]
    sqs.clock.advance(31)
    (again,) = sqs.receive(url, 1)
    assert again["Body"] == "a1" and again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.hide(url, again, 0)
    sqs.clock.advance(0.001)
    assert sqs.bodies(url) == ["a1", "a2"]


def test_fifo_deduplication_within_five_minutes(sqs: Sqs) -> None:
    url = _fifo(sqs)
    _send_fifo(sqs, url, "A", "first", dedup="same")
    _send_fifo(sqs, url, "A", "copy", dedup="same")
    sqs.clock.advance(301)
    _send_fifo(sqs, url, "A", "later", dedup="same")
    assert sqs.bodies(url) == ["first", "later"]


def test_fifo_content_based_deduplication(sqs: Sqs) -> None:
    url = _fifo(sqs, "content.fifo", ContentBasedDeduplication="true")
    for body in ("x", "x", "y"):
        sqs.client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="G")
    assert sqs.bodies(url) == ["x", "y"]


def test_a_fifo_queue_redrives_to_a_fifo_dead_letter_queue(sqs: Sqs) -> None:
    dlq = _fifo(sqs, "dlq.fifo")
    dlq_arn = sqs.arn(dlq)
    url = _fifo(sqs, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    _send_fifo(sqs, url, "A", "poison")
    _send_fifo(sqs, url, "A", "next")
    assert sqs.bodies(url, 1) == ["poison"]
    sqs.clock.advance(31)
    assert sqs.bodies(url) == ["next"]
    assert sqs.bodies(dlq) == ["poison"]


# -- what only the index promises ---------------------------------------------------------------------


def _examined_per_receive_and_delete(sqs: Sqs, name: str, depth: int, *, fifo: bool) -> float:
    attributes: dict[str, Any] = {"FifoQueue": "true"} if fifo else {}
    url = sqs.queue(name, **attributes)
    for start in range(0, depth, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        if fifo:
            # one group, like a workflow's decider events: all but one message blocked at every receive
            group = {"MessageGroupId": "wf"}
            entries = [{**e, **group, "MessageDeduplicationId": e["MessageBody"]} for e in entries]
        sqs.client.send_message_batch(QueueUrl=url, Entries=entries)
    index = moto_sqs_index.index_of(sqs_models.sqs_backends["123456789012"][REGION].get_queue(name))
    before = index.examined
    calls = 50
    for _ in range(calls):
        (message,) = sqs.receive(url, 1)
        sqs.delete(url, message)
    return (index.examined - before) / calls


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo-one-group"])
def test_receive_and_delete_work_does_not_grow_with_queue_depth(indexed_sqs: Sqs, fifo: bool) -> None:
    suffix = ".fifo" if fifo else ""
    shallow = _examined_per_receive_and_delete(indexed_sqs, f"shallow{suffix}", 60, fifo=fifo)
    deep = _examined_per_receive_and_delete(indexed_sqs, f"deep{suffix}", 5000, fifo=fifo)
    assert shallow <= 3
    assert deep <= shallow + 1, (shallow, deep)


def test_a_long_poll_does_not_wake_for_messages_held_back_by_their_fifo_group(indexed_sqs: Sqs) -> None:
    """A decider's long poll waited on a queue whose ready messages all queued behind their workflow's
    message in flight, and spun: woken at once, finding nothing, woken again (95 % of the process)."""
    url = _fifo(indexed_sqs, "held.fifo")
    for body in ("a1", "a2"):
        _send_fifo(indexed_sqs, url, "A", body)
    index = moto_sqs_index.index_of(sqs_models.sqs_backends["123456789012"][REGION].get_queue("held.fifo"))
    (a1,) = indexed_sqs.receive(url, 1)
    assert indexed_sqs.bodies(url) == []  # a2 is ready, behind a1

    assert index.counts[moto_sqs_index.READY] == 1
    assert not index.receivable()
    indexed_sqs.delete(url, a1)
    assert index.receivable()
    assert indexed_sqs.bodies(url) == ["a2"]


def test_a_queue_created_before_install_is_indexed_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    _aws_environment(monkeypatch)
    with moto_sqs_index.indexed(False), mock_aws():
        sqs = Sqs(boto3.client("sqs", region_name=REGION), FakeClock())
        url = sqs.queue("q")
        sqs.send(url, "a", "b", "c")
        (a,) = sqs.receive(url, 1)
        with moto_sqs_index.indexed():
            assert sqs.counts(url) == (2, 1, 0)
            sqs.delete(url, a)
            assert sqs.bodies(url) == ["b", "c"]
        assert sqs.counts(url) == (0, 2, 0)


def test_concurrent_consumers_get_every_message_exactly_once(indexed_sqs: Sqs) -> None:
    url = indexed_sqs.queue("q", VisibilityTimeout=600)
    total = 300
    for start in range(0, total, 10):
        indexed_sqs.client.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)]
        )
    seen: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        client = boto3.client("sqs", region_name=REGION)
        while batch := client.receive_message(QueueUrl=url, MaxNumberOfMessages=3).get("Messages", []):
            for message in batch:
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            with lock:
                seen.extend(message["Body"] for message in batch)

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for consumer in consumers:
        consumer.start()
    for consumer in consumers:
        consumer.join(timeout=60)
    assert sorted(seen, key=int) == [str(i) for i in range(total)]
    assert indexed_sqs.counts(url) == (0, 0, 0)
