"""Task ids name their workflow, so a bare task id is read by key: no ``tasks-by-id`` index on the table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from batonflow.engine.ids import task_id_for, workflow_id_of
from tests.functional.test_api_errors import assert_error
from tests.support.stack import REGION, Harness

FLOW = {"name": "id_flow", "version": 1, "tasks": [{"name": "a", "taskReferenceName": "a_ref"}]}
ABSENT_WORKFLOW = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def start_and_poll(harness: Harness) -> tuple[str, dict[str, Any]]:
    assert harness.api("POST", "/api/metadata/taskdefs", [{"name": "a", "retryCount": 0}]).status == 200
    assert harness.api("POST", "/api/metadata/workflow", FLOW).status == 200
    workflow_id = harness.api("POST", "/api/workflow/id_flow", {}).text
    harness.pump()
    [task] = harness.api("GET", "/api/tasks/poll/batch/a?count=1").json()
    return workflow_id, task


def search(harness: Harness, **params: str) -> dict[str, Any]:
    response = harness.api("GET", f"/api/tasks/search?{urlencode(params)}")
    assert response.status == 200, response.text
    return response.json()


def test_a_bare_task_id_reads_its_task_and_its_logs(harness: Harness):
    workflow_id, polled = start_and_poll(harness)
    task_id = polled["taskId"]
    assert task_id.startswith(f"{workflow_id}-") and workflow_id_of(task_id) == workflow_id

    response = harness.api("GET", f"/api/tasks/{task_id}")
    assert response.status == 200, response.text
    read = response.json()
    assert (read["taskId"], read["workflowInstanceId"]) == (task_id, workflow_id)
    assert read["status"] == "IN_PROGRESS"

    assert harness.api("POST", f"/api/tasks/{task_id}/log", body="working").status == 200
    assert [entry["log"] for entry in harness.api("GET", f"/api/tasks/{task_id}/log").json()] == ["working"]

    assert [row["taskId"] for row in search(harness, query=f"taskId = {task_id}")["results"]] == [task_id]
    assert [row["taskId"] for row in search(harness, freeText=task_id)["results"]] == [task_id]


def test_a_restart_gives_new_task_ids_that_still_name_the_workflow(harness: Harness):
    workflow_id, polled = start_and_poll(harness)
    done = {"workflowInstanceId": workflow_id, "taskId": polled["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", done).status == 200
    harness.pump()
    assert harness.api("POST", f"/api/workflow/{workflow_id}/restart", {}).status == 204
    harness.pump()
    [task] = harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=true").json()["tasks"]
    assert task["taskId"] != polled["taskId"] and workflow_id_of(task["taskId"]) == workflow_id
    assert harness.api("GET", f"/api/tasks/{task['taskId']}").json()["status"] == "SCHEDULED"


@pytest.mark.parametrize(
    "unknown_for",
    [
        lambda _: "no-such-task",
        lambda _: "8d2b6f0e-3c1a-5b7e-9f40-2a6c8e1d3b57",  # an older, bare UUID task id
        lambda _: task_id_for(ABSENT_WORKFLOW, 0, "a_ref", 0),  # well formed, of no workflow
        lambda workflow_id: task_id_for(workflow_id, 0, "no_such_ref", 0),  # of this workflow, no task
    ],
    ids=["junk", "bare-uuid", "absent-workflow", "absent-task"],
)
def test_a_task_id_that_names_no_task_is_the_same_404_as_before(
    harness: Harness, unknown_for: Callable[[str], str]
):
    workflow_id, _ = start_and_poll(harness)
    unknown = unknown_for(workflow_id)
    assert_error(harness.api("GET", f"/api/tasks/{unknown}"), 404, f"Task not found for taskId: {unknown}")
    assert_error(harness.api("POST", f"/api/tasks/{unknown}/log", body="x"), 404, "Task not found for taskId")
    assert search(harness, query=f"taskId = {unknown}") == {"totalHits": 0, "results": []}


def test_the_table_has_no_task_id_index_and_task_items_no_task_id_attribute(harness: Harness):
    workflow_id, polled = start_and_poll(harness)
    client = boto3.client("dynamodb", region_name=REGION)
    table = client.describe_table(TableName=harness.runtime.settings.table)["Table"]
    index_keys = {k["AttributeName"] for i in table["GlobalSecondaryIndexes"] for k in i["KeySchema"]}
    assert "taskId" not in index_keys
    assert "taskId" not in {a["AttributeName"] for a in table["AttributeDefinitions"]}
    item = client.get_item(
        TableName=harness.runtime.settings.table,
        Key={"PK": {"S": f"WF#{workflow_id}"}, "SK": {"S": f"T#{polled['taskId']}"}},
    )["Item"]
    assert "taskId" not in item
