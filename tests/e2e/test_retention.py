"""Retention on a real local stack: a finished workflow disappears after ``WorkflowRetentionDays``.

Days are too long to wait for, so this stack of its own keeps workflows for three seconds (the parameter
takes fractions of a day) and runs the emulator's TTL sweep five times a second instead of every minute.
The rest is what AWS does: TTL deletes the header, the table's stream hands the REMOVE to the reaper
function, which deletes the tasks and their logs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from batonflow.emulator.stack import BatonStack
from tests.e2e.helpers import HTTP_TIMEOUT_S, TIMEOUT_S, register, start, task, unique, wait_for_terminal

RETENTION_S = 3
SECONDS_PER_DAY = 86400


@pytest.fixture(scope="module")
def short_lived() -> Iterator[BatonStack]:
    with BatonStack(
        port=0,
        stack_name="baton-e2e-retention",
        parameters={"WorkflowRetentionDays": f"{RETENTION_S / SECONDS_PER_DAY:.10f}"},
        ttl_sweep_interval_s=0.2,
        schedule_interval_s=2,
    ) as running:
        yield running


def partition(stack: BatonStack, pk: str) -> list[dict[str, Any]]:
    return stack.client("dynamodb").query(
        TableName=stack.resources["BatonTable"].ref,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )["Items"]


def eventually(condition: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} within {TIMEOUT_S}s")
        time.sleep(0.1)


def test_a_finished_workflow_and_its_tasks_and_logs_are_deleted_after_the_retention(short_lived: BatonStack):
    api = f"{short_lived.api_url}/api"
    name = unique("retained")
    register(api, {"name": name, "version": 1, "tasks": [task("work", name=f"{name}_work")]})
    workflow_id = start(api, name, {})
    polled: list[dict[str, Any]] = []

    def scheduled() -> bool:
        params = {"count": 1, "timeout": 100}
        response = requests.get(f"{api}/tasks/poll/batch/{name}_work", params=params, timeout=HTTP_TIMEOUT_S)
        polled.extend(response.json() if response.status_code == 200 else [])
        return bool(polled)

    eventually(scheduled, "the task was not scheduled")
    task_id = polled[0]["taskId"]
    logged = requests.post(f"{api}/tasks/{task_id}/log", data="did the work", timeout=HTTP_TIMEOUT_S)
    assert logged.status_code == 200, logged.text
    result = {"workflowInstanceId": workflow_id, "taskId": task_id, "status": "COMPLETED"}
    assert requests.post(f"{api}/tasks", json=result, timeout=HTTP_TIMEOUT_S).status_code == 200

    assert wait_for_terminal(api, workflow_id)["status"] == "COMPLETED"
    assert partition(short_lived, f"LOG#{task_id}")

    def gone_from_the_api() -> bool:
        return requests.get(f"{api}/workflow/{workflow_id}", timeout=HTTP_TIMEOUT_S).status_code == 404

    eventually(gone_from_the_api, "the workflow was not answered 404")
    eventually(
        lambda: not partition(short_lived, f"WF#{workflow_id}"), "the workflow's items were not deleted"
    )
    eventually(lambda: not partition(short_lived, f"LOG#{task_id}"), "the task's logs were not deleted")
