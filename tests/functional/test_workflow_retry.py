"""Workflow retry, restart and skip-task through the API on moto, refusals included (they change nothing)."""

from __future__ import annotations

from tests.support.stack import Harness

WORKFLOW = {"name": "one_step", "version": 1, "tasks": [{"name": "only", "taskReferenceName": "only"}]}


def start(harness: Harness) -> str:
    assert harness.api("POST", "/api/metadata/workflow", WORKFLOW).status == 200
    workflow_id = harness.api("POST", "/api/workflow/one_step", {}).text
    harness.pump()
    return workflow_id


def test_retrying_a_running_workflow_is_a_404_that_changes_nothing(harness: Harness):
    workflow_id = start(harness)
    before = harness.api("GET", f"/api/workflow/{workflow_id}").json()

    response = harness.api("POST", f"/api/workflow/{workflow_id}/retry")
    assert response.status == 404
    body = response.json()
    assert body["message"] == "Workflow is still running.  status=RUNNING"
    assert set(body) >= {"status", "message", "retryable"}
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json() == before


def test_unknown_workflows_and_sub_workflow_resumption_are_refused(harness: Harness):
    workflow_id = start(harness)
    assert harness.api("POST", "/api/workflow/no-such-id/retry").status == 404
    response = harness.api("POST", f"/api/workflow/{workflow_id}/retry?resumeSubworkflowTasks=true")
    assert response.status == 400
    assert "resumeSubworkflowTasks" in response.json()["message"]


def fail_the_only_task(harness: Harness, workflow_id: str) -> dict:
    [task] = harness.api("GET", "/api/tasks/poll/batch/only?count=1&timeout=0").json()
    body = {
        "workflowInstanceId": workflow_id,
        "taskId": task["taskId"],
        "status": "FAILED_WITH_TERMINAL_ERROR",
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "FAILED"
    return task


def test_restart_runs_a_failed_workflow_again_and_deletes_the_earlier_run(harness: Harness):
    workflow_id = start(harness)
    earlier = fail_the_only_task(harness, workflow_id)

    assert harness.api("POST", f"/api/workflow/{workflow_id}/restart").status == 204
    harness.pump()
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["status"] == "RUNNING" and "reasonForIncompletion" not in execution
    [task] = execution["tasks"]
    assert task["taskId"] != earlier["taskId"] and task["status"] == "SCHEDULED"
    assert harness.api("GET", f"/api/tasks/{earlier['taskId']}").status == 404  # its item is gone

    assert harness.api("POST", f"/api/workflow/{workflow_id}/restart").status == 409  # it runs again


def test_restart_with_the_latest_definition_runs_the_new_version(harness: Harness):
    workflow_id = start(harness)
    fail_the_only_task(harness, workflow_id)
    v2 = {**WORKFLOW, "version": 2, "tasks": [{"name": "other", "taskReferenceName": "other"}]}
    assert harness.api("POST", "/api/metadata/workflow", v2).status == 200

    response = harness.api("POST", f"/api/workflow/{workflow_id}/restart?useLatestDefinitions=true")
    assert response.status == 204
    harness.pump()
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["workflowVersion"] == 2
    assert [t["referenceTaskName"] for t in execution["tasks"]] == ["other"]


def test_skip_task_over_rest_lets_the_flow_jump_over_it(harness: Harness):
    steps = {
        "name": "two_steps",
        "version": 1,
        "tasks": [
            {"name": "first", "taskReferenceName": "first"},
            {"name": "second", "taskReferenceName": "second"},
        ],
        "outputParameters": {"second": "${second.output.note}"},
    }
    assert harness.api("POST", "/api/metadata/workflow", steps).status == 200
    workflow_id = harness.api("POST", "/api/workflow/two_steps", {}).text
    harness.pump()

    target = f"/api/workflow/{workflow_id}/skiptask/second?taskOutput=%7B%22note%22%3A%22skipped%22%7D"
    target += "&skipTaskRequest=%7B%27taskInput%27%3A+%7B%7D%7D"  # conductor-python's repr: ignored
    assert harness.api("PUT", target, {}).status == 200
    assert harness.api("PUT", f"/api/workflow/{workflow_id}/skiptask/second", {}).status == 409
    harness.pump()

    [first] = harness.api("GET", "/api/tasks/poll/batch/first?count=1&timeout=0").json()
    body = {"workflowInstanceId": workflow_id, "taskId": first["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["status"] == "COMPLETED"
    assert execution["output"] == {"second": "skipped"}
    assert [(t["referenceTaskName"], t["status"]) for t in execution["tasks"]] == [
        ("first", "COMPLETED"),
        ("second", "SKIPPED"),
    ]
