"""The bench's call ledger: every call counted by role, DynamoDB and SQS usage turned into billed units.

The clients here are built after :meth:`CallLedger.install`, as the stack's are, and talk to moto in
process; the expected units follow DynamoDB's and SQS's published rules.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from batonflow.bench.calls import CallLedger, CallRecorder, Index, indexes_of

TABLE = "bench-ledger"


@pytest.fixture
def ledger() -> Iterator[CallLedger]:
    ledger = CallLedger().install()
    try:
        with mock_aws():
            yield ledger
    finally:
        ledger.uninstall()


def _clients() -> tuple[Any, Any]:
    session = boto3.session.Session(region_name="us-east-1")
    dynamodb, sqs = session.client("dynamodb"), session.client("sqs")
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "status", "shard")
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [
                    {"AttributeName": "shard", "KeyType": "HASH"},
                    {"AttributeName": "status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb, sqs


def _key(sk: str = "H") -> dict[str, Any]:
    return {"PK": {"S": "WF#1"}, "SK": {"S": sk}}


def test_calls_are_counted_by_the_role_of_the_thread_that_made_them(ledger: CallLedger) -> None:
    _, sqs = _clients()
    queue = sqs.create_queue(QueueName="work")["QueueUrl"]
    ledger.take()
    with ledger.acting("fn:DeciderFunction"):
        sqs.send_message(QueueUrl=queue, MessageBody="x")

    def worker() -> None:
        sqs.receive_message(QueueUrl=queue)

    thread = threading.Thread(target=worker, name="baton-sdk-poll-x")
    thread.start()
    thread.join()
    sqs.receive_message(QueueUrl=queue)  # nothing left: an idle receive, by the bench itself

    tally = ledger.take()
    assert tally.calls == {
        ("fn:DeciderFunction", "sqs", "SendMessage"): 1,
        ("worker", "sqs", "ReceiveMessage"): 1,
    }
    assert tally.idle_receives == {"bench": 1}
    assert ledger.take().calls == {}


def test_sqs_requests_are_billed_per_64_kb_chunk_and_fifo_apart(ledger: CallLedger) -> None:
    _, sqs = _clients()
    standard = sqs.create_queue(QueueName="standard")["QueueUrl"]
    fifo = sqs.create_queue(
        QueueName="d.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    ledger.take()
    with ledger.acting("fn:X"):
        sqs.send_message(QueueUrl=standard, MessageBody="a" * 100_000)  # two chunks
        sqs.send_message_batch(
            QueueUrl=standard,
            Entries=[{"Id": str(i), "MessageBody": "b" * 30_000} for i in range(3)],  # 90 KB: two chunks
        )
        sqs.send_message(QueueUrl=fifo, MessageBody="c", MessageGroupId="g")
    assert ledger.take().sqs_requests == {("fn:X", False): 4, ("fn:X", True): 1}


def test_writes_are_billed_by_item_size_and_index_changes(ledger: CallLedger) -> None:
    dynamodb, _ = _clients()
    ledger.indexes[TABLE] = indexes_of(dynamodb, TABLE)
    assert ledger.indexes[TABLE] == [Index(frozenset({"shard", "status"}), frozenset({"name"}))]
    ledger.take()
    big = "x" * 1500  # with the other attributes, the item is just over 1.5 KB: 2 write units
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            **_key(),
            "shard": {"S": "1"},
            "status": {"S": "RUNNING"},
            "name": {"S": "n"},
            "body": {"S": big},
        },
    )
    put = ledger.take()
    assert put.write_units == {"bench": 2 + 1}  # table + a new index entry
    assert put.items_written == {"bench": 1}

    def update(expression: str, values: dict[str, Any]) -> Any:
        return dynamodb.update_item(
            TableName=TABLE,
            Key=_key(),
            UpdateExpression=expression,
            ExpressionAttributeNames={f"#{name[1:]}": name[1:] for name in values},
            ExpressionAttributeValues=values,
        )

    update("SET #other = :other", {":other": {"S": "y"}})  # no indexed attribute touched
    assert ledger.take().write_units == {"bench": 2}
    update("SET #status = :status", {":status": {"S": "RUNNING"}})  # same value: the index is not written
    assert ledger.take().write_units == {"bench": 2}
    update("SET #name = :name", {":name": {"S": "m"}})  # a projected attribute changed: rewrite the entry
    assert ledger.take().write_units == {"bench": 3}
    update("SET #status = :status", {":status": {"S": "COMPLETED"}})  # a key moved: delete + put
    assert ledger.take().write_units == {"bench": 4}
    dynamodb.delete_item(TableName=TABLE, Key=_key())
    assert ledger.take().write_units == {"bench": 2 + 1}


def test_failed_conditional_writes_are_billed_and_change_nothing_known(ledger: CallLedger) -> None:
    dynamodb, _ = _clients()
    dynamodb.put_item(TableName=TABLE, Item={**_key(), "status": {"S": "A"}})
    ledger.take()
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName=TABLE,
            Item={**_key(), "v": {"S": "y" * 3000}},
            ConditionExpression="attribute_not_exists(PK)",
        )
    assert ledger.take().write_units == {"bench": 3}
    dynamodb.update_item(
        TableName=TABLE,
        Key=_key(),
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "B"}},
    )
    assert ledger.take().write_units == {"bench": 1}  # the 3 KB put never happened


def test_reads_are_billed_per_4_kb_and_half_when_eventually_consistent(ledger: CallLedger) -> None:
    dynamodb, _ = _clients()
    for sk in ("a", "b", "c"):
        dynamodb.put_item(TableName=TABLE, Item={**_key(sk), "v": {"S": "z" * 3000}})
    ledger.take()
    dynamodb.get_item(TableName=TABLE, Key=_key("a"), ConsistentRead=True)
    dynamodb.get_item(TableName=TABLE, Key=_key("missing"))
    dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "WF#1"}},
        ConsistentRead=True,
    )
    tally = ledger.take()
    assert tally.read_units == {"bench": 1 + 0.5 + 3}  # 9 KB queried: three 4 KB units
    assert tally.items_read == {"bench": 1 + 3}
    assert tally.calls == {("bench", "dynamodb", "GetItem"): 2, ("bench", "dynamodb", "Query"): 1}


def _mixed_calls() -> None:
    """Writes that grow, move an index entry and fail a condition, reads, SQS sends and an idle receive."""
    with mock_aws():
        dynamodb, sqs = _clients()
        queue = sqs.create_queue(QueueName="work")["QueueUrl"]
        item = {**_key(), "shard": {"S": "1"}, "status": {"S": "RUNNING"}, "body": {"S": "x" * 1500}}
        dynamodb.put_item(TableName=TABLE, Item=item)
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key(),
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "COMPLETED"}},
        )
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(PK)")
        dynamodb.get_item(TableName=TABLE, Key=_key(), ConsistentRead=True)
        sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": "b" * 30_000} for i in range(3)]
        )
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        sqs.receive_message(QueueUrl=queue)  # nothing left


def test_calls_recorded_in_a_sandbox_count_as_if_made_here_by_the_invoking_role() -> None:
    """A function's sandbox records its calls and hands them over through a pipe (pickled); replayed on
    the thread that invoked the function, they are billed exactly as the ledger bills calls it sees."""
    indexes = [Index(frozenset({"shard", "status"}), frozenset({"name"}))]
    seen_here = CallLedger({TABLE: indexes}).install()
    try:
        with seen_here.acting("fn:CompleteFunction"):
            _mixed_calls()
    finally:
        seen_here.uninstall()
    recorder = CallRecorder().install()
    try:
        _mixed_calls()
    finally:
        recorder.uninstall()
    replayed = CallLedger({TABLE: indexes})

    with replayed.acting("fn:CompleteFunction"):
        replayed.replay(pickle.loads(pickle.dumps(recorder.drain())))

    expected = seen_here.take()
    assert expected.write_units["fn:CompleteFunction"] > 0 and expected.idle_receives
    assert replayed.take() == expected
    assert recorder.drain() == []
