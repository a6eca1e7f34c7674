"""DynamoDB bills a write by the size of the whole item (1 write unit per KB), even when one attribute
changes: the header (rewritten by every decide) and the task items of the benchmark's workflow must stay
within one unit."""

from __future__ import annotations

import os
from typing import Any

from batonflow.bench.workloads import CHAIN_LENGTH, CHAIN_WORKFLOW, STEP_TASK, TASK_DEFS
from tests.support.stack import Harness

ONE_WRITE_UNIT = 1024


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, closely enough: attribute names plus value bytes (numbers
    counted as their decimal text, a little more than DynamoDB's)."""
    total = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        total += len(name.encode())
        if kind == "S":
            total += len(data.encode())
        elif kind in ("N", "B"):
            total += len(data)
        elif kind == "BOOL":
            total += 1
        else:
            raise AssertionError(f"unexpected attribute type {kind} in {name}")
    return total


def partition(harness: Harness, workflow_id: str) -> dict[str, dict[str, Any]]:
    client = harness.runtime.executions._client
    response = client.query(
        TableName=harness.runtime.settings.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"WF#{workflow_id}"}},
    )
    return {item["SK"]["S"]: item for item in response["Items"]}


def run_step(harness: Harness) -> None:
    response = harness.api("GET", f"/api/tasks/poll/batch/{STEP_TASK}?count=1&timeout=100&workerid=w1")
    (task,) = response.json()
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "outputData": {"value": task["inputData"]["value"] + 1},
        "workerId": "w1",
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()


def test_the_header_and_the_tasks_of_a_ten_task_workflow_fit_one_write_unit(harness: Harness):
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    assert harness.api("POST", "/api/metadata/workflow", CHAIN_WORKFLOW).status == 200
    response = harness.api("POST", "/api/workflow/bench_chain", {"value": 1, "run": "run-1"})
    assert response.status == 200
    workflow_id = response.text
    harness.pump()
    header_sizes = [item_size(partition(harness, workflow_id)["#HEADER"])]
    for _ in range(CHAIN_LENGTH):
        run_step(harness)
        header_sizes.append(item_size(partition(harness, workflow_id)["#HEADER"]))

    tasks = [item for key, item in partition(harness, workflow_id).items() if key != "#HEADER"]
    assert len(tasks) == CHAIN_LENGTH
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["output"] == {"value": 11}
    assert max(header_sizes) <= ONE_WRITE_UNIT
    assert max(item_size(item) for item in tasks) <= ONE_WRITE_UNIT


def test_a_workflow_with_payloads_over_the_threshold_keeps_items_of_one_write_unit(harness: Harness):
    """A 200 KB workflow input and task output (random, so compression does not hide them): the header
    and the task item hold references."""
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    assert harness.api("POST", "/api/metadata/workflow", CHAIN_WORKFLOW).status == 200
    blob = os.urandom(100_000).hex()
    response = harness.api("POST", "/api/workflow/bench_chain", {"value": 1, "run": "run-1", "blob": blob})
    workflow_id = response.text
    harness.pump()
    (task,) = harness.api("GET", f"/api/tasks/poll/batch/{STEP_TASK}?count=1&timeout=100&workerid=w1").json()
    body = {
        "workflowInstanceId": workflow_id,
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "outputData": {"value": 2, "blob": blob},
        "workerId": "w1",
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()

    items = partition(harness, workflow_id)
    assert max(item_size(item) for item in items.values()) <= ONE_WRITE_UNIT
    first = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"][0]
    assert first["outputData"]["blob"] == blob
