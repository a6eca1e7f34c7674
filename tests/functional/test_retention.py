"""Finished workflows expire: the header write that finishes a workflow sets its TTL, the one that re-opens
it removes it; once the TTL passes the API answers 404, and after TTL deletes the header (the emulator's
sweep here) the reaper, fed by the table's stream, deletes the tasks and their logs."""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.store.executions import ExecutionStore
from tests.support.stack import Harness, context

WORKFLOW = {"name": "kept", "version": 1, "tasks": [{"name": "only", "taskReferenceName": "only"}]}
RETENTION_S = 30 * 86400
"""The template's default, ``WorkflowRetentionDays: 30``."""


def start(harness: Harness) -> str:
    assert harness.api("PUT", "/api/metadata/workflow", [WORKFLOW]).status == 200
    workflow_id = harness.api("POST", "/api/workflow/kept", {}).text
    harness.pump()
    return workflow_id


def finish(harness: Harness, workflow_id: str, status: str = "COMPLETED") -> dict[str, Any]:
    """Answer the only task (with a log line) and let the workflow finish."""
    [task] = harness.api("GET", "/api/tasks/poll/batch/only?count=1&timeout=0").json()
    assert harness.api("POST", f"/api/tasks/{task['taskId']}/log", "working").status == 200
    body = {"workflowInstanceId": workflow_id, "taskId": task["taskId"], "status": status}
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()
    return harness.api("GET", f"/api/workflow/{workflow_id}").json()


def partition(harness: Harness, pk: str) -> list[dict[str, Any]]:
    client = harness.runtime.executions._client
    table = harness.runtime.settings.table
    return client.query(
        TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]


def header(harness: Harness, workflow_id: str) -> dict[str, Any]:
    [item] = [i for i in partition(harness, f"WF#{workflow_id}") if i["SK"]["S"] == "#HEADER"]
    return item


def test_a_finished_workflow_expires_its_retention_after_its_end(harness: Harness):
    workflow_id = start(harness)
    assert "expiresAt" not in header(harness, workflow_id)  # running: no TTL

    execution = finish(harness, workflow_id)

    assert execution["status"] == "COMPLETED"
    assert header(harness, workflow_id)["expiresAt"] == {"N": str(execution["endTime"] // 1000 + RETENTION_S)}


def test_a_retried_workflow_loses_its_expiry_and_gets_a_new_one_when_it_ends_again(harness: Harness):
    workflow_id = start(harness)
    assert finish(harness, workflow_id, "FAILED_WITH_TERMINAL_ERROR")["status"] == "FAILED"
    assert "expiresAt" in header(harness, workflow_id)

    assert harness.api("POST", f"/api/workflow/{workflow_id}/retry").status == 204
    harness.pump()
    assert "expiresAt" not in header(harness, workflow_id)

    harness.clock.advance(3600)
    execution = finish(harness, workflow_id)
    assert execution["status"] == "COMPLETED"
    assert header(harness, workflow_id)["expiresAt"] == {"N": str(execution["endTime"] // 1000 + RETENTION_S)}


def test_an_expired_workflow_is_not_found_before_ttl_deletes_it(harness: Harness):
    workflow_id = start(harness)
    finish(harness, workflow_id)
    harness.clock.advance(RETENTION_S - 1)
    assert harness.api("GET", f"/api/workflow/{workflow_id}").status == 200

    harness.clock.advance(1)

    assert harness.api("GET", f"/api/workflow/{workflow_id}").status == 404
    assert harness.api("GET", f"/api/workflow/{workflow_id}/status").status == 404
    assert harness.api("POST", f"/api/workflow/{workflow_id}/retry").status == 404
    assert header(harness, workflow_id)  # still stored: AWS deletes expired items some time later


def test_ttl_deletes_the_header_and_the_reaper_the_tasks_and_their_logs(harness: Harness):
    workflow_id = start(harness)
    execution = finish(harness, workflow_id)
    [task_id] = [task["taskId"] for task in execution["tasks"]]
    assert len(partition(harness, f"LOG#{task_id}")) == 1
    other = start(harness)  # still running: never expires

    assert harness.expire() == 0  # nothing due yet
    harness.clock.advance(RETENTION_S)
    assert harness.expire() == 1  # the header only: the tasks have no TTL
    assert [i["SK"]["S"] for i in partition(harness, f"WF#{workflow_id}")] == [f"T#{task_id}"]

    harness.pump()

    assert partition(harness, f"WF#{workflow_id}") == []
    assert partition(harness, f"LOG#{task_id}") == []
    assert harness.api("GET", f"/api/workflow/{other}").json()["status"] == "RUNNING"


def test_the_reaper_does_nothing_on_a_redelivered_record_or_while_the_header_exists(harness: Harness):
    workflow_id = start(harness)
    finish(harness, workflow_id)
    removed = {
        "Records": [
            {
                "eventID": "1",
                "eventName": "REMOVE",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "Keys": {"PK": {"S": f"WF#{workflow_id}"}, "SK": {"S": "#HEADER"}},
                    "SequenceNumber": "100",
                    "StreamViewType": "KEYS_ONLY",
                },
            }
        ]
    }
    reaper = harness.handlers["reaper"]
    before = partition(harness, f"WF#{workflow_id}")

    assert reaper.handler(removed, context("reaper")) == {
        "batchItemFailures": []
    }  # the header is still there
    assert partition(harness, f"WF#{workflow_id}") == before

    harness.clock.advance(RETENTION_S)
    harness.expire()
    harness.pump()
    assert reaper.handler(removed, context("reaper")) == {
        "batchItemFailures": []
    }  # the same record once more
    assert partition(harness, f"WF#{workflow_id}") == []


def test_retention_zero_keeps_finished_workflows_forever(harness: Harness):
    runtime = harness.runtime
    runtime.executions = ExecutionStore(
        runtime.executions._client, runtime.settings.table, retention_s=0, clock=harness.clock
    )
    workflow_id = start(harness)
    assert finish(harness, workflow_id)["status"] == "COMPLETED"

    assert "expiresAt" not in header(harness, workflow_id)
    harness.clock.advance(10 * RETENTION_S)
    assert harness.expire() == 0
    assert harness.api("GET", f"/api/workflow/{workflow_id}").status == 200


def test_removing_an_expired_workflow_is_a_404_that_deletes_it_ahead_of_ttl(harness: Harness):
    workflow_id = start(harness)
    [task_id] = [task["taskId"] for task in finish(harness, workflow_id)["tasks"]]
    harness.clock.advance(RETENTION_S)

    assert harness.api("DELETE", f"/api/workflow/{workflow_id}/remove").status == 404

    assert partition(harness, f"WF#{workflow_id}") == []
    assert partition(harness, f"LOG#{task_id}") == []
    harness.pump()  # the reaper gets the header's REMOVE and finds nothing left
    assert harness.expire() == 0


def test_the_reaper_reads_log_partitions_only_of_tasks_that_have_logs(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    with_log = start(harness)
    [logged_task] = [t["taskId"] for t in finish(harness, with_log)["tasks"]]
    without_log = start(harness)
    [task] = harness.api("GET", "/api/tasks/poll/batch/only?count=1&timeout=0").json()
    body = {"workflowInstanceId": without_log, "taskId": task["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()
    queried: list[str] = []
    client = harness.runtime.executions._client
    query = client.query

    def record(**kwargs: Any) -> Any:
        queried.append(kwargs["ExpressionAttributeValues"][":pk"]["S"])
        return query(**kwargs)

    monkeypatch.setattr(client, "query", record)
    harness.clock.advance(RETENTION_S)
    assert harness.expire() == 2
    harness.pump()

    assert [pk for pk in queried if pk.startswith("LOG#")] == [f"LOG#{logged_task}"]
    assert partition(harness, f"WF#{with_log}") == [] and partition(harness, f"WF#{without_log}") == []
    assert partition(harness, f"LOG#{logged_task}") == []


def test_an_idempotency_key_starts_a_new_workflow_once_its_workflow_expired(harness: Harness):
    assert harness.api("PUT", "/api/metadata/workflow", [WORKFLOW]).status == 200
    request = {"name": "kept", "input": {}, "idempotencyKey": "k1", "idempotencyStrategy": "RETURN_EXISTING"}
    workflow_id = harness.api("POST", "/api/workflow", request).text
    harness.pump()
    [old_task] = [t["taskId"] for t in finish(harness, workflow_id)["tasks"]]
    assert harness.api("POST", "/api/workflow", request).text == workflow_id  # live: the same one

    harness.clock.advance(RETENTION_S)
    assert harness.expire() == 1  # TTL took the header; the reaper has not run yet
    again = harness.api("POST", "/api/workflow", request)
    harness.pump("decider")

    assert again.text == workflow_id  # the key's id, free again
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["status"] == "RUNNING"
    [task] = execution["tasks"]
    assert task["status"] == "SCHEDULED"  # a new run: nothing of the expired one shows through
    assert partition(harness, f"LOG#{old_task}") == []


def test_an_expired_header_not_yet_deleted_does_not_block_its_idempotency_key(harness: Harness):
    assert harness.api("PUT", "/api/metadata/workflow", [WORKFLOW]).status == 200
    request = {"name": "kept", "input": {"n": 1}, "idempotencyKey": "k2"}
    workflow_id = harness.api("POST", "/api/workflow", request).text
    harness.pump()
    finish(harness, workflow_id)
    assert harness.api("POST", "/api/workflow", request).status == 409  # FAIL while it is kept

    harness.clock.advance(RETENTION_S)  # expired, TTL has not deleted anything yet
    assert harness.api("POST", "/api/workflow", request).text == workflow_id
    harness.pump("decider")
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "RUNNING"
