"""Definition snapshots: an execution's header names the snapshot of the definition it runs (a hash of its
content), stored once as an item of its own and shared by every execution of that definition; a process
reads a snapshot once."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from batonflow.store.errors import StoreError
from batonflow.store.executions import ExecutionStore
from batonflow.store.layout import ONE_WRITE_UNIT
from tests.functional.test_held_attempts import TWO_STEPS, held_ids, items, start, take_messages
from tests.functional.test_item_sizes import item_size
from tests.functional.test_result_cost import workflow
from tests.support.stack import REGION, Harness

STEPS = [
    f"{verb}_{noun}"
    for verb in ("check", "reserve", "charge", "notify")
    for noun in ("order", "stock", "card", "invoice", "courier")
]
TASK_DEFS = [
    {
        "name": name,
        "description": f"Calls the {name.replace('_', ' ')} service",
        "ownerEmail": "orders-team@example.com",
        "retryCount": 5,
        "retryLogic": "EXPONENTIAL_BACKOFF",
        "retryDelaySeconds": 2,
        "timeoutSeconds": 600,
        "responseTimeoutSeconds": 120,
        "inputKeys": ["previous", "customer"],
        "outputKeys": ["result"],
    }
    for name in STEPS
]
LONG_CHAIN = {
    "name": "order_pipeline",
    "description": "Twenty steps, each reading the previous one's output and the workflow's input",
    "tasks": [
        {
            "name": name,
            "taskReferenceName": f"{name}_ref",
            "inputParameters": {
                "previous": f"${{{STEPS[i - 1]}_ref.output.result}}" if i else "${workflow.input.order}",
                "customer": "${workflow.input.customer.id}",
            },
        }
        for i, name in enumerate(STEPS)
    ],
    "outputParameters": {"result": f"${{{STEPS[-1]}_ref.output.result}}"},
    "timeoutPolicy": "TIME_OUT_WF",
    "timeoutSeconds": 3600,
}
"""A workflow of realistic size: its definition snapshot, each task with its TaskDef, takes some 840 bytes
compressed, which in the header would leave no room for a held attempt and make every decide pay two write
units."""


def snapshots(harness: Harness) -> dict[str, dict[str, Any]]:
    """The table's snapshot items, by id."""
    response = boto3.client("dynamodb", region_name=REGION).scan(
        TableName=harness.runtime.settings.table,
        FilterExpression="begins_with(PK, :snap)",
        ExpressionAttributeValues={":snap": {"S": "SNAP#"}},
    )
    return {item["PK"]["S"].removeprefix("SNAP#"): item for item in response["Items"]}


def snapshot_of(harness: Harness, workflow_id: str) -> str:
    header = items(harness, workflow_id)["#HEADER"]
    assert "definition" not in header
    return header["definitionRef"]["S"]


def test_executions_of_one_definition_share_one_snapshot(harness: Harness):
    first, second = start(harness, TWO_STEPS), start(harness, TWO_STEPS, {"n": 2})

    assert snapshot_of(harness, first) == snapshot_of(harness, second)
    assert list(snapshots(harness)) == [snapshot_of(harness, first)]
    assert [t["taskReferenceName"] for t in workflow(harness, second)["workflowDefinition"]["tasks"]] == [
        "first",
        "second",
    ]


def test_a_process_reads_a_snapshot_once(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)
    client = boto3.client("dynamodb", region_name=REGION)
    reads: list[str] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: reads.append(params["Key"]["PK"]["S"])
    )
    fresh = ExecutionStore(client, harness.runtime.settings.table)

    first = fresh.load(workflow_id)
    second = fresh.load(workflow_id)

    assert first is not None and second is not None
    assert reads == [f"SNAP#{snapshot_of(harness, workflow_id)}"]
    assert first.header.workflow.workflow_definition == second.header.workflow.workflow_definition
    assert [t.task_reference_name for t in first.header.workflow.workflow_definition.tasks] == [
        "first",
        "second",
    ]


def test_a_header_whose_snapshot_is_gone_is_an_error_not_a_workflow_without_a_definition(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)
    client = boto3.client("dynamodb", region_name=REGION)
    ref = snapshot_of(harness, workflow_id)
    client.delete_item(
        TableName=harness.runtime.settings.table, Key={"PK": {"S": f"SNAP#{ref}"}, "SK": {"S": "#SNAPSHOT"}}
    )

    with pytest.raises(StoreError, match=f"definition snapshot {ref} is missing"):
        ExecutionStore(client, harness.runtime.settings.table).load(workflow_id)


def test_a_running_workflow_keeps_its_snapshot_when_its_definition_changes(harness: Harness):
    running = start(harness, TWO_STEPS)
    changed = {**TWO_STEPS, "tasks": [{"name": "job", "taskReferenceName": "only"}]}
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", changed).status == 200
    newer = harness.api("POST", f"/api/workflow/{TWO_STEPS['name']}", {}).text
    harness.pump()

    assert snapshot_of(harness, running) != snapshot_of(harness, newer)
    assert set(snapshots(harness)) == {snapshot_of(harness, running), snapshot_of(harness, newer)}
    running_tasks = workflow(harness, running)["workflowDefinition"]["tasks"]
    assert [t["taskReferenceName"] for t in running_tasks] == ["first", "second"]


def test_a_restart_on_the_latest_definition_names_its_snapshot(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop").status == 200
    harness.pump()
    take_messages(harness)
    before = snapshot_of(harness, workflow_id)
    v2 = {**TWO_STEPS, "version": 2, "tasks": [{"name": "job", "taskReferenceName": "v2_step"}]}
    assert harness.api("POST", "/api/metadata/workflow", v2).status == 200

    restart = harness.api("POST", f"/api/workflow/{workflow_id}/restart?useLatestDefinitions=true")
    assert restart.status == 204
    harness.pump()

    after = snapshot_of(harness, workflow_id)
    assert after != before and after in snapshots(harness)
    fresh = ExecutionStore(boto3.client("dynamodb", region_name=REGION), harness.runtime.settings.table)
    loaded = fresh.load(workflow_id)
    assert loaded is not None
    assert [t.reference_task_name for t in loaded.tasks] == ["v2_step"]
    assert [t.task_reference_name for t in loaded.header.workflow.workflow_definition.tasks] == ["v2_step"]


def test_a_twenty_step_workflow_keeps_its_header_within_one_write_unit_and_holds_its_task(harness: Harness):
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    workflow_id = start(harness, LONG_CHAIN, {"order": "o-1", "customer": {"id": "c-42"}})

    [message] = harness.take_tasks(STEPS[0])
    header = items(harness, workflow_id)["#HEADER"]
    definition = snapshots(harness)[snapshot_of(harness, workflow_id)]["definition"]["B"]
    assert item_size(header) <= ONE_WRITE_UNIT < item_size(header) + len(definition)  # the header held it
    assert held_ids(harness, workflow_id) == [message["taskId"]]
