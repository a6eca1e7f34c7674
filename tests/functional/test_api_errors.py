"""Bad input gets the right 4xx with Conductor's error JSON, and nothing already stored changes."""

from __future__ import annotations

import pytest

from tests.support.stack import Harness

GOOD = {"name": "ok_flow", "tasks": [{"name": "a", "taskReferenceName": "a_ref"}]}


def assert_error(response, status: int, message_part: str = "") -> dict:
    assert response.status == status, response.text
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["message"], str) and message_part in body["message"]
    assert body["retryable"] is False
    return body


def stored_definitions(harness: Harness) -> list:
    return harness.api("GET", "/api/metadata/workflow").json()


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("POST", "/api/metadata/workflow"),
        ("PUT", "/api/metadata/workflow"),
        ("POST", "/api/metadata/taskdefs"),
        ("POST", "/api/workflow"),
        ("POST", "/api/workflow/ok_flow"),
        ("POST", "/api/tasks"),
        ("POST", "/api/tasks/update-v2"),
    ],
)
def test_malformed_json_is_a_400_and_stores_nothing(harness: Harness, method: str, target: str):
    harness.api("POST", "/api/metadata/workflow", GOOD)
    before = stored_definitions(harness)
    response = harness.api(
        method,
        target,
        body="{not json",
    )
    assert_error(response, 400, "Malformed JSON")
    assert stored_definitions(harness) == before


def test_invalid_definitions_are_refused_with_validation_errors(harness: Harness):
    missing_ref = {"name": "bad", "tasks": [{"name": "a"}]}
    body = assert_error(harness.api("POST", "/api/metadata/workflow", missing_ref), 400, "Validation failed")
    assert any("taskReferenceName" in e["message"] for e in body["validationErrors"])

    duplicate = {
        "name": "bad",
        "tasks": [{"name": "a", "taskReferenceName": "same"}, {"name": "b", "taskReferenceName": "same"}],
    }
    body = assert_error(harness.api("POST", "/api/metadata/workflow", duplicate), 400, "Validation failed")
    assert body["validationErrors"]

    no_tasks = {"name": "bad", "tasks": []}
    assert_error(harness.api("POST", "/api/metadata/workflow", no_tasks), 400)
    assert stored_definitions(harness) == []


def test_one_invalid_definition_in_a_bulk_put_stores_none_of_them(harness: Harness):
    response = harness.api("PUT", "/api/metadata/workflow", [GOOD, {"name": "bad", "tasks": [{"name": "x"}]}])
    assert_error(response, 400)
    assert stored_definitions(harness) == []


def test_registering_an_existing_version_without_overwrite_is_a_conflict(harness: Harness):
    assert harness.api("POST", "/api/metadata/workflow", GOOD).status == 200
    changed = {**GOOD, "description": "changed"}
    assert_error(harness.api("POST", "/api/metadata/workflow", changed), 409, "ok_flow.1 already exists")
    assert "description" not in harness.api("GET", "/api/metadata/workflow/ok_flow").json()
    assert harness.api("POST", "/api/metadata/workflow?overwrite=True", changed).status == 200
    assert harness.api("GET", "/api/metadata/workflow/ok_flow").json()["description"] == "changed"


def test_unknown_names_and_ids_are_404s(harness: Harness):
    assert_error(harness.api("POST", "/api/workflow/nope", {}), 404, "No such workflow defined. name=nope")
    assert_error(harness.api("POST", "/api/workflow", {"name": "nope"}), 404, "No such workflow defined")
    assert_error(
        harness.api("GET", "/api/workflow/no-such-id"), 404, "No such workflow found by id: no-such-id"
    )
    assert_error(harness.api("DELETE", "/api/workflow/no-such-id", {}), 404)
    assert_error(
        harness.api("GET", "/api/metadata/workflow/nope"), 404, "No such workflow found by name: nope"
    )
    assert_error(
        harness.api("GET", "/api/metadata/taskdefs/nope"), 404, "No such taskType found by name: nope"
    )
    assert_error(
        harness.api("GET", "/api/tasks/no-such-task"), 404, "Task not found for taskId: no-such-task"
    )
    assert_error(harness.api("GET", "/api/no/such/route"), 404)


def test_results_for_unknown_tasks(harness: Harness):
    result = {"workflowInstanceId": "w", "taskId": "t", "status": "COMPLETED"}
    assert_error(harness.api("POST", "/api/tasks", result), 404, "Task not found")
    # update-v2 must not answer 404/405: conductor-python would stop using it for good
    assert_error(harness.api("POST", "/api/tasks/update-v2", result), 400, "Task not found")
    assert_error(harness.api("POST", "/api/tasks", {"status": "COMPLETED"}), 400, "required")
    assert_error(harness.api("POST", "/api/tasks", {**result, "status": "DONE"}), 400)


def test_start_with_null_input_is_a_400(harness: Harness):
    harness.api("POST", "/api/metadata/workflow", GOOD)
    assert_error(harness.api("POST", "/api/workflow", {"name": "ok_flow", "input": None}), 400, "NULL input")
    assert_error(harness.api("POST", "/api/workflow/ok_flow", body="null"), 400, "NULL input")


def test_batch_poll_answers_an_empty_list_and_rejects_long_timeouts(harness: Harness):
    response = harness.api("GET", "/api/tasks/poll/batch/idle_type?count=5&timeout=100")
    assert response.status == 200 and response.json() == []
    assert harness.api("GET", "/api/tasks/poll/idle_type").status == 204
    assert_error(harness.api("GET", "/api/tasks/poll/batch/idle_type?timeout=6000"), 400)


def test_terminating_a_completed_workflow_is_a_conflict_and_terminate_is_idempotent(harness: Harness):
    harness.api("POST", "/api/metadata/workflow", GOOD)
    workflow_id = harness.api("POST", "/api/workflow/ok_flow", {}).text
    harness.pump()
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop", {}).status == 200
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}", {}).status == 200
    workflow = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert workflow["status"] == "TERMINATED"
    assert workflow["reasonForIncompletion"] == "stop"
    assert [t["status"] for t in workflow["tasks"]] == ["CANCELED"]


def test_terminating_a_completed_workflow_is_a_409(harness: Harness):
    harness.api("POST", "/api/metadata/workflow", GOOD)
    workflow_id = harness.api("POST", "/api/workflow/ok_flow", {}).text
    harness.pump()
    [task] = harness.api("GET", "/api/tasks/poll/batch/a?count=1").json()
    done = {"workflowInstanceId": workflow_id, "taskId": task["taskId"], "status": "COMPLETED"}
    harness.api("POST", "/api/tasks", done)
    harness.pump()
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "COMPLETED"
    assert_error(
        harness.api("DELETE", f"/api/workflow/{workflow_id}", {}), 409, "Cannot terminate a COMPLETED"
    )
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "COMPLETED"
