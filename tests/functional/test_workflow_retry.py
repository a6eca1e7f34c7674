"""Workflow retry, restart and skip-task through the API on moto, refusals included (they change nothing)."""

from __future__ import annotations

import pytest

from batonflow.service.timers import sweep
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


def test_unknown_and_running_workflows_are_refused_with_or_without_sub_workflow_resumption(harness: Harness):
    workflow_id = start(harness)
    assert harness.api("POST", "/api/workflow/no-such-id/retry").status == 404
    response = harness.api("POST", f"/api/workflow/{workflow_id}/retry?resumeSubworkflowTasks=true")
    assert response.status == 404
    assert response.json()["message"] == "Workflow is still running.  status=RUNNING"


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


TWO_STEPS = {
    "name": "rerun_steps",
    "version": 1,
    "tasks": [
        {"name": "first", "taskReferenceName": "first", "inputParameters": {"n": "${workflow.input.n}"}},
        {"name": "second", "taskReferenceName": "second", "inputParameters": {"m": "${first.output.m}"}},
    ],
    "outputParameters": {"done": "${second.output.done}"},
}


def finish(harness: Harness, workflow_id: str, task_type: str, status: str, output: dict) -> dict:
    [task] = harness.api("GET", f"/api/tasks/poll/batch/{task_type}?count=1&timeout=0").json()
    body = {
        "workflowInstanceId": workflow_id,
        "taskId": task["taskId"],
        "status": status,
        "outputData": output,
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()
    return task


def failed_at_second(harness: Harness) -> str:
    assert harness.api("PUT", "/api/metadata/workflow", [TWO_STEPS]).status == 200
    start_body = {"name": "rerun_steps", "input": {"n": 1}, "correlationId": "first-run"}
    workflow_id = harness.api("POST", "/api/workflow", start_body).text
    harness.pump()
    finish(harness, workflow_id, "first", "COMPLETED", {"m": 2})
    finish(harness, workflow_id, "second", "FAILED_WITH_TERMINAL_ERROR", {})
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "FAILED"
    return workflow_id


def test_rerun_from_a_task_runs_it_again_with_the_given_input_and_keeps_what_came_before(harness: Harness):
    workflow_id = failed_at_second(harness)
    before = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    first, failed = before["tasks"]

    body = {"reRunFromWorkflowId": "ignored", "reRunFromTaskId": failed["taskId"], "taskInput": {"m": 9}}
    response = harness.api("POST", f"/api/workflow/{workflow_id}/rerun", body)
    assert (response.status, response.text) == (200, workflow_id)
    assert dict(response.headers)["Content-Type"].startswith("text/plain")
    harness.pump()
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["status"] == "RUNNING" and "reasonForIncompletion" not in execution
    kept, again = execution["tasks"]
    assert kept == first
    assert again["taskId"] != failed["taskId"]
    assert (again["referenceTaskName"], again["status"], again["inputData"]) == (
        "second",
        "SCHEDULED",
        {"m": 9},
    )
    assert harness.api("GET", f"/api/tasks/{failed['taskId']}").status == 404  # its item is gone

    polled = finish(harness, workflow_id, "second", "COMPLETED", {"done": "yes"})
    assert polled["taskId"] == again["taskId"]
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert (execution["status"], execution["output"]) == ("COMPLETED", {"done": "yes"})
    assert execution["correlationId"] == "first-run"


def test_a_rerun_interrupted_before_its_deletions_hides_the_discarded_attempts_until_they_are_gone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    workflow_id = failed_at_second(harness)
    first, failed = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
    executions = harness.runtime.executions

    def crash(*args: object) -> None:
        raise RuntimeError("the function died after the header commit")

    with monkeypatch.context() as dying:
        dying.setattr(executions, "_delete_tasks", crash)
        response = harness.api(
            "POST", f"/api/workflow/{workflow_id}/rerun", {"reRunFromTaskId": failed["taskId"]}
        )
        assert response.status == 500
    assert harness.api("GET", f"/api/tasks/{failed['taskId']}").status == 200  # still stored...
    shown = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert shown["status"] == "RUNNING"
    kept, again = shown["tasks"]  # ...but no longer part of the workflow
    assert kept["taskId"] == first["taskId"]
    assert (again["referenceTaskName"], again["status"]) == ("second", "SCHEDULED")
    assert again["taskId"] != failed["taskId"]

    assert harness.api("GET", "/api/tasks/poll/batch/second?count=1&timeout=0").json() == []  # not sent
    harness.clock.advance(2 * 60)  # the sweeper finds the wake-up the rerun left for this case
    assert sweep(harness.runtime) == 1
    harness.pump()  # its decide re-sends the rerun's dispatch and deletes what the rerun left behind
    assert harness.api("GET", f"/api/tasks/{failed['taskId']}").status == 404
    finish(harness, workflow_id, "second", "COMPLETED", {"done": "yes"})
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert (execution["status"], [t["status"] for t in execution["tasks"]]) == (
        "COMPLETED",
        ["COMPLETED", "COMPLETED"],
    )


def test_rerun_from_the_start_replaces_input_and_correlation_id(harness: Harness):
    workflow_id = failed_at_second(harness)
    earlier = {t["taskId"] for t in harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]}

    body = {"workflowInput": {"n": 5}, "correlationId": "second-run"}
    assert harness.api("POST", f"/api/workflow/{workflow_id}/rerun", body).text == workflow_id
    harness.pump()
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert (execution["status"], execution["input"], execution["correlationId"]) == (
        "RUNNING",
        {"n": 5},
        "second-run",
    )
    [task] = execution["tasks"]
    assert task["taskId"] not in earlier
    assert (task["referenceTaskName"], task["inputData"], task["correlationId"]) == (
        "first",
        {"n": 5},
        "second-run",
    )

    def correlated(correlation_id: str) -> list[str]:
        found = harness.api(
            "GET", f"/api/workflow/rerun_steps/correlated/{correlation_id}?includeClosed=true"
        )
        return [w["workflowId"] for w in found.json()]

    assert correlated("second-run") == [workflow_id]
    assert correlated("first-run") == []


def test_rerun_refusals_change_nothing(harness: Harness):
    running = start(harness)
    before = harness.api("GET", f"/api/workflow/{running}").json()
    response = harness.api("POST", f"/api/workflow/{running}/rerun", {})
    assert response.status == 409
    assert response.json()["message"] == "Workflow is still running.  status=RUNNING"
    assert harness.api("GET", f"/api/workflow/{running}").json() == before

    failed = failed_at_second(harness)
    before = harness.api("GET", f"/api/workflow/{failed}").json()
    response = harness.api("POST", f"/api/workflow/{failed}/rerun", {"reRunFromTaskId": "nope"})
    assert (response.status, response.json()["message"]) == (400, "Task nope not found")
    assert harness.api("GET", f"/api/workflow/{failed}").json() == before
    assert harness.api("POST", "/api/workflow/no-such-id/rerun", {}).status == 404


def test_bulk_retry_and_restart_report_each_workflow(harness: Harness):
    failed = [failed_at_second(harness) for _ in range(2)]
    running = start(harness)

    response = harness.api("POST", "/api/workflow/bulk/retry", [*failed, running, "no-such-id"])
    assert response.status == 200
    assert response.json() == {
        "bulkSuccessfulResults": failed,
        "bulkErrorResults": {
            running: "Workflow is still running.  status=RUNNING",
            "no-such-id": "No such workflow found by id: no-such-id",
        },
        "message": "Bulk Request has been processed.",
    }
    harness.pump()
    for workflow_id in failed:
        execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
        assert execution["status"] == "RUNNING"
        assert [(t["referenceTaskName"], t["retryCount"], t["status"]) for t in execution["tasks"]][-1] == (
            "second",
            1,
            "SCHEDULED",
        )

    terminated = failed[0]
    assert harness.api("DELETE", f"/api/workflow/{terminated}?reason=stop").status == 200
    v2 = {**TWO_STEPS, "version": 2, "tasks": [{"name": "other", "taskReferenceName": "other"}]}
    assert harness.api("POST", "/api/metadata/workflow", v2).status == 200
    response = harness.api(
        "POST", "/api/workflow/bulk/restart?useLatestDefinitions=true", [terminated, failed[1]]
    )
    assert response.json() == {
        "bulkSuccessfulResults": [terminated],
        "bulkErrorResults": {failed[1]: "Workflow is still running.  status=RUNNING"},
        "message": "Bulk Request has been processed.",
    }
    harness.pump()
    execution = harness.api("GET", f"/api/workflow/{terminated}").json()
    assert (execution["status"], execution["workflowVersion"]) == ("RUNNING", 2)
    assert [t["referenceTaskName"] for t in execution["tasks"]] == ["other"]

    for path in ("/api/workflow/bulk/retry", "/api/workflow/bulk/restart"):
        refused = harness.api("POST", path, [])
        assert refused.status == 400
        assert refused.json()["validationErrors"][0]["message"] == "WorkflowIds list cannot be null."
