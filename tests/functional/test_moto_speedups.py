"""The emulator's fast DynamoDB answers are the answers moto's own serializer gives, call for call, and its
DynamoDB calls are applied one at a time."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import UpdateExpressionValidator
from moto.dynamodb.responses import DynamoHandler, DynamoResult

from batonflow.emulator import moto_speedups

TABLE = "speedups"
ITEM = {
    "PK": {"S": "WF#ü"},
    "SK": {"S": "T#1"},
    "n": {"N": "-12.50"},
    "blob": {"B": b"\x00\xffzlib"},
    "yes": {"BOOL": True},
    "none": {"NULL": True},
    "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"deep": {"B": b"\x01"}}}]},
    "map": {"M": {"k": {"SS": ["x", "y"]}, "nums": {"NS": ["1", "2"]}, "bins": {"BS": [b"a", b"b"]}}},
    "text": {"S": "é" * 300},
}


def _create_table(client: Any, keys: tuple[str, ...] = ("PK", "SK")) -> None:
    """The test table: string keys, the first the hash key, the second (if any) the range key."""
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
        KeySchema=[
            {"AttributeName": key, "KeyType": kind}
            for key, kind in zip(keys, ("HASH", "RANGE"), strict=False)
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """What boto3 needs to build a client for ``mock_aws``."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every fast answer is checked against the generic serializer's; yields the operations compared."""
    operations: list[str] = []

    def both(self: Any, context: Any) -> Any:
        generic = moto_speedups._generic_execute_result(self, context)
        fast = moto_speedups._execute_result(self, context)
        if context.operation_model.name in moto_speedups.FAST_OPERATIONS:
            assert fast[0] == generic[0]
            assert fast[1]["Content-Type"] == generic[1]["Content-Type"]
            assert json.loads(fast[2]) == json.loads(generic[2]), context.operation_model.name
            operations.append(context.operation_model.name)
        return fast

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    fake_credentials(monkeypatch)
    with mock_aws():
        yield operations


def test_every_item_call_answers_as_moto_would(compared: list[str]) -> None:
    client = boto3.client("dynamodb")
    _create_table(client)
    key = {"PK": ITEM["PK"], "SK": ITEM["SK"]}
    client.put_item(TableName=TABLE, Item=ITEM)
    client.put_item(TableName=TABLE, Item=ITEM, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    client.batch_write_item(
        RequestItems={TABLE: [{"PutRequest": {"Item": {**ITEM, "SK": {"S": f"T#{n}"}}}} for n in range(2, 5)]}
    )
    assert client.get_item(TableName=TABLE, Key=key)["Item"]["blob"] == {"B": b"\x00\xffzlib"}
    assert "Item" not in client.get_item(TableName=TABLE, Key={**key, "SK": {"S": "missing"}})
    client.get_item(
        TableName=TABLE, Key=key, ProjectionExpression="#m.k", ExpressionAttributeNames={"#m": "map"}
    )
    query = client.query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": ITEM["PK"]},
        Limit=1,
        ReturnConsumedCapacity="INDEXES",
    )
    assert query["Count"] == 1 and "LastEvaluatedKey" in query
    client.scan(TableName=TABLE)
    updated = client.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET #n = #n + :one REMOVE #none",
        ExpressionAttributeNames={"#n": "n", "#none": "none"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    assert Decimal(updated["Attributes"]["n"]["N"]) == Decimal("-11.5")
    client.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET yes = :f",
        ExpressionAttributeValues={":f": {"BOOL": False}},
    )
    client.batch_get_item(RequestItems={TABLE: {"Keys": [key, {**key, "SK": {"S": "missing"}}]}})
    client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key}}])
    client.delete_item(TableName=TABLE, Key=key, ReturnValues="ALL_OLD")
    client.delete_item(TableName=TABLE, Key=key)

    assert set(compared) == moto_speedups.FAST_OPERATIONS


def test_errors_still_come_from_moto(compared: list[str]) -> None:
    client = boto3.client("dynamodb")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_item(TableName="absent", Key={"PK": {"S": "x"}})
    assert compared == []


def test_the_engine_runs_on_the_fast_path(compared: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.stack import moto_harness

    checking = DynamoResult.execute_result
    with moto_harness(monkeypatch) as harness:
        assert DynamoResult.execute_result is moto_speedups._execute_result  # the harness installs it
        monkeypatch.setattr(DynamoResult, "execute_result", checking)
        harness.api(
            "POST",
            "/api/metadata/workflow",
            {"name": "w", "tasks": [{"name": "t", "taskReferenceName": "t"}]},
        )
        workflow_id = harness.api("POST", "/api/workflow/w", {"x": 1}).text
        harness.pump()
        assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "RUNNING"
    assert {"PutItem", "Query", "UpdateItem", "BatchGetItem"} <= set(compared)


def test_two_writes_racing_for_one_condition_cannot_both_win(
    compared: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers complete one open attempt at the same moment. Each update is held inside moto, after
    the table lookup and before its condition is checked, until the other arrives too (or for a second):
    unserialized, both would see the attempt open and both would win."""
    moto_speedups.install()
    client = boto3.client("dynamodb")
    _create_table(client, ("PK",))
    client.put_item(TableName=TABLE, Item={"PK": {"S": "attempt"}, "status": {"S": "SCHEDULED"}})
    both_inside = threading.Barrier(2, timeout=1)
    lookup = DynamoDBBackend.get_table

    def held_lookup(self: DynamoDBBackend, name: str) -> Any:
        table = lookup(self, name)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other write was not let in meanwhile
            both_inside.wait()
        return table

    monkeypatch.setattr(DynamoDBBackend, "get_table", held_lookup)
    outcomes: list[str] = []

    def complete(worker: str) -> None:
        try:
            client.update_item(
                TableName=TABLE,
                Key={"PK": {"S": "attempt"}},
                UpdateExpression="SET #s = :done, worker = :worker",
                ConditionExpression="#s = :open",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":open": {"S": "SCHEDULED"},
                    ":done": {"S": "COMPLETED"},
                    ":worker": {"S": worker},
                },
            )
            outcomes.append("won")
        except client.exceptions.ConditionalCheckFailedException:
            outcomes.append("lost")

    workers = [threading.Thread(target=complete, args=(name,)) for name in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(outcomes) == ["lost", "won"]
    assert DynamoHandler.call_action is moto_speedups._serialized_call_action


def _partitioned_table(client: Any) -> None:
    _create_table(client)
    for partition in ("WF#a", "WF#b", "WF#c"):
        for n in (3, 1, 12, 2):
            client.put_item(
                TableName=TABLE,
                Item={"PK": {"S": partition}, "SK": {"S": f"T#{n:02}"}, "n": {"N": str(n)}},
            )
    client.put_item(TableName=TABLE, Item={"PK": {"S": "WF#b"}, "SK": {"S": "HEADER"}})


_QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "WF#b"}}},
    {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "WF#none"}}},
    {
        "KeyConditionExpression": "PK = :p AND begins_with(SK, :t)",
        "ExpressionAttributeValues": {":p": {"S": "WF#b"}, ":t": {"S": "T#"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "PK = :p AND SK BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {":p": {"S": "WF#a"}, ":lo": {"S": "T#02"}, ":hi": {"S": "T#10"}},
    },
    {
        "KeyConditionExpression": "PK = :p",
        "FilterExpression": "n > :two",
        "ExpressionAttributeValues": {":p": {"S": "WF#c"}, ":two": {"N": "2"}},
        "Limit": 2,
        "ExclusiveStartKey": {"PK": {"S": "WF#c"}, "SK": {"S": "T#01"}},
    },
]


@pytest.mark.parametrize("query", _QUERIES)
def test_a_query_of_one_partition_answers_as_the_table_wide_one(
    compared: list[str], monkeypatch: pytest.MonkeyPatch, query: dict[str, Any]
) -> None:
    moto_speedups.install()
    client = boto3.client("dynamodb")
    _partitioned_table(client)
    whole_table_reads: list[str] = []
    all_items = Table.all_items

    def counted(self: Table) -> Any:
        whole_table_reads.append(self.name)
        return all_items(self)

    monkeypatch.setattr(Table, "all_items", counted)

    fast = client.query(TableName=TABLE, **query)
    monkeypatch.setattr(Table, "query", moto_speedups._table_wide_query)
    reads_before_the_generic_query = len(whole_table_reads)
    generic = client.query(TableName=TABLE, **query)

    assert {k: v for k, v in fast.items() if k != "ResponseMetadata"} == {
        k: v for k, v in generic.items() if k != "ResponseMetadata"
    }
    assert reads_before_the_generic_query == 0
    assert whole_table_reads == [TABLE]


_UPDATES: list[dict[str, Any]] = [
    {"UpdateExpression": "SET n = n + :one, #l = list_append(#l, :more)"},
    {"UpdateExpression": "SET n = n + :one, #l = list_append(#l, :more)"},  # parsed before: a fresh tree
    {"UpdateExpression": "SET #m.k = :tags, fresh = if_not_exists(fresh, :one) REMOVE #none"},
    {"UpdateExpression": "ADD hits :one, #m.k :tags DELETE #m.nums :two"},
    {"UpdateExpression": "SET #l[0] = :word, #m.deeper = :empty"},
    {"UpdateExpression": "SET #t = :word", "ConditionExpression": "attribute_not_exists(PK)"},
    {"UpdateExpression": "SET n = n +"},
    {"UpdateExpression": "SET a = :one SET b = :one"},
    {"UpdateExpression": "SET #m.k = :tags, #m.k = :word"},
    {"UpdateExpression": "SET n = :missing"},
    {"UpdateExpression": "SET SK = :word"},
    {"UpdateExpression": "ADD #t :one"},
    {"UpdateExpression": "SET n = n + :one, #l = list_append(#l, :more)", "Key": {"SK": {"S": "new"}}},
    {
        "UpdateExpression": "SET n = if_not_exists(n, :one), #l = list_append(:more, :more)",
        "Key": {"SK": {"S": "new"}},
    },
    {"UpdateExpression": "SET #a = :one, #b = :word", "Names": {"#a": "x", "#b": "y"}},
    {"UpdateExpression": "SET #a = :one, #b = :word", "Names": {"#a": "x", "#b": "x"}},  # a path set twice
]
"""Update calls, valid and not, some more than once: each answers (item or error) as moto's own parse does."""


def _apply_updates(client: Any) -> list[Any]:
    _create_table(client)
    client.put_item(TableName=TABLE, Item=ITEM)
    names = {"#m": "map", "#none": "none", "#l": "list", "#t": "text"}
    values = {
        ":one": {"N": "1"},
        ":two": {"NS": ["2"]},
        ":more": {"L": [{"S": "b"}]},
        ":tags": {"SS": ["z"]},
        ":word": {"S": "w"},
        ":empty": {"M": {}},
    }
    outcomes: list[Any] = []
    for update in _UPDATES:
        expression = update["UpdateExpression"]
        key = {"PK": ITEM["PK"], "SK": ITEM["SK"], **update.get("Key", {})}
        call = {k: v for k, v in update.items() if k not in ("Key", "Names")}
        call["ExpressionAttributeNames"] = update.get("Names") or {
            k: v for k, v in names.items() if k in expression
        }
        call["ExpressionAttributeValues"] = {k: v for k, v in values.items() if k in expression}
        call = {k: v for k, v in call.items() if v}
        try:
            outcomes.append(
                client.update_item(TableName=TABLE, Key=key, ReturnValues="ALL_NEW", **call)["Attributes"]
            )
        except client.exceptions.ClientError as error:
            outcomes.append(error.response["Error"])
    outcomes.append(client.scan(TableName=TABLE)["Items"])
    return outcomes


def test_update_expressions_parsed_once_and_walked_faster_answer_as_moto_does_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_credentials(monkeypatch)
    moto_speedups.install()
    with monkeypatch.context() as unpatched:
        unpatched.setattr(UpdateExpressionParser, "make", moto_speedups._parse_update_expression)
        unpatched.setattr(validators, "deepcopy", copy.deepcopy)
        unpatched.setattr(DepthFirstTraverser, "nodes_to_be_processed", moto_speedups._node_types_by_moto)
        unpatched.setattr(UpdateExpressionValidator, "validate", moto_speedups._validate_by_moto)
        with mock_aws():
            expected = _apply_updates(boto3.client("dynamodb"))
    parsed_before = moto_speedups._pickled_tree.cache_info()

    with mock_aws():
        outcomes = _apply_updates(boto3.client("dynamodb"))

    assert outcomes == expected
    assert sum(isinstance(outcome, dict) and "Code" in outcome for outcome in outcomes) == 9
    assert moto_speedups._pickled_tree.cache_info().hits > parsed_before.hits
    assert ("SET #a = :one, #b = :word", (("#a", "x"), ("#b", "y"))) in moto_speedups._SHAPES_PASSED
