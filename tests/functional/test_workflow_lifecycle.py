"""Status, pause, resume and remove through the API on moto: Conductor's status codes and messages, refusals
that change nothing, and what a paused or removed workflow does with its queued work."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from batonflow.engine.decider import decide
from batonflow.engine.state import WorkflowState
from batonflow.model.wire import ResultMessage
from batonflow.service.tasks import apply_result
from batonflow.store.errors import ConflictError as StoreConflict
from batonflow.store.layout import pending_tasks
from tests.support.stack import REGION, Harness

TWO_STEPS = {
    "name": "two_steps",
    "version": 1,
    "tasks": [{"name": "step_a", "taskReferenceName": "a"}, {"name": "step_b", "taskReferenceName": "b"}],
    "outputParameters": {"b": "${b.output.v}"},
    "variables": {"seen": True},
}
ONE_STEP = {"name": "one_step", "tasks": [{"name": "solo", "taskReferenceName": "solo"}]}
BRANCHES = 30
WIDE = {
    "name": "wide",
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [[{"name": "leaf", "taskReferenceName": f"leaf{i}"}] for i in range(BRANCHES)],
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["leaf0"]},
    ],
}


def start(harness: Harness, definition: dict[str, Any] = TWO_STEPS, query: str = "") -> str:
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", definition).status == 200
    response = harness.api("POST", f"/api/workflow/{definition['name']}{query}", {"n": 1})
    assert response.status == 200, response.text
    harness.pump()
    return response.text


def workflow(harness: Harness, workflow_id: str) -> dict[str, Any]:
    response = harness.api("GET", f"/api/workflow/{workflow_id}")
    assert response.status == 200, response.text
    return response.json()


def complete(harness: Harness, task_type: str, output: dict[str, Any]) -> None:
    [task] = harness.api("GET", f"/api/tasks/poll/batch/{task_type}?count=1").json()
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "outputData": output,
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()


def assert_error(response, status: int, message: str) -> None:
    assert response.status == status, response.text
    body = response.json()
    assert (body["status"], body["message"], body["retryable"]) == (status, message, False)


def partition(harness: Harness, workflow_id: str) -> list[dict[str, Any]]:
    response = boto3.client("dynamodb", region_name=REGION).query(
        TableName=harness.runtime.settings.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"WF#{workflow_id}"}},
    )
    return response["Items"]


# -- status -----------------------------------------------------------------------------------------------
def test_status_is_conductors_workflow_status_shape(harness: Harness):
    workflow_id = start(harness, query="?correlationId=order-7")

    plain = harness.api("GET", f"/api/workflow/{workflow_id}/status")
    assert plain.status == 200
    assert plain.json() == {"workflowId": workflow_id, "correlationId": "order-7", "status": "RUNNING"}

    complete(harness, "step_a", {})
    complete(harness, "step_b", {"v": 5})
    full = harness.api("GET", f"/api/workflow/{workflow_id}/status?includeOutput=true&includeVariables=True")
    assert full.json() == {
        "workflowId": workflow_id,
        "correlationId": "order-7",
        "status": "COMPLETED",
        "output": {"b": 5},
        "variables": {"seen": True},
    }


def test_status_of_an_unknown_workflow_is_a_404(harness: Harness):
    assert_error(harness.api("GET", "/api/workflow/nope/status"), 404, "No such workflow found by id: nope")


# -- pause / resume ---------------------------------------------------------------------------------------
def test_a_paused_workflow_finishes_its_running_task_but_schedules_nothing_until_resumed(harness: Harness):
    workflow_id = start(harness)

    assert harness.api("PUT", f"/api/workflow/{workflow_id}/pause", {}).status == 200
    assert harness.api("PUT", f"/api/workflow/{workflow_id}/pause", {}).status == 200  # no-op
    complete(harness, "step_a", {"x": 1})
    paused = workflow(harness, workflow_id)
    assert paused["status"] == "PAUSED"
    assert [(t["referenceTaskName"], t["status"]) for t in paused["tasks"]] == [("a", "COMPLETED")]
    assert harness.api("GET", "/api/tasks/poll/batch/step_b?count=1").json() == []

    harness.clock.advance(5)
    resumed = harness.api("PUT", f"/api/workflow/{workflow_id}/resume", {})
    assert (resumed.status, resumed.text) == (200, "")
    harness.pump()
    running = workflow(harness, workflow_id)
    assert running["status"] == "RUNNING"
    assert running["lastRetriedTime"] == harness.clock.now
    complete(harness, "step_b", {"v": 2})
    assert workflow(harness, workflow_id)["status"] == "COMPLETED"
    assert workflow(harness, workflow_id)["output"] == {"b": 2}


def test_a_decide_that_loses_to_the_pause_leaves_nothing_stuck_after_resume(harness: Harness):
    workflow_id = start(harness)
    [task] = harness.api("GET", "/api/tasks/poll/batch/step_a?count=1").json()
    # applied alone: the REST update would decide at once, where this test races a decide with the pause
    result = ResultMessage(workflowInstanceId=workflow_id, taskId=task["taskId"], status="COMPLETED")
    apply_result(harness.runtime, result)
    loaded = harness.runtime.executions.load(workflow_id)
    assert loaded is not None
    state = WorkflowState(
        workflow=loaded.workflow, last_seq=loaded.header.last_seq, wake_at=loaded.header.wake_at
    )
    racing = decide(state, harness.clock.now)
    assert [t.reference_task_name for t in racing.new_tasks] == ["b"]

    assert harness.api("PUT", f"/api/workflow/{workflow_id}/pause", {}).status == 200
    with pytest.raises(StoreConflict):  # the decide wrote its task item, then lost the header commit
        harness.runtime.executions.commit(loaded, racing, harness.clock.now, [])
    harness.pump()
    assert harness.api("GET", "/api/tasks/poll/batch/step_b?count=1").json() == []

    assert harness.api("PUT", f"/api/workflow/{workflow_id}/resume", {}).status == 200
    harness.pump()
    complete(harness, "step_b", {"v": 3})
    done = workflow(harness, workflow_id)
    assert (done["status"], [t["referenceTaskName"] for t in done["tasks"]]) == ("COMPLETED", ["a", "b"])


def test_resuming_a_workflow_that_is_not_paused_is_a_409_and_changes_nothing(harness: Harness):
    workflow_id = start(harness)
    before = workflow(harness, workflow_id)

    assert_error(
        harness.api("PUT", f"/api/workflow/{workflow_id}/resume", {}),
        409,
        f"The workflow {workflow_id} is not PAUSED so cannot resume. Current status is RUNNING",
    )
    assert workflow(harness, workflow_id) == before


def test_pausing_a_finished_workflow_is_a_409_and_changes_nothing(harness: Harness):
    workflow_id = start(harness)
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop", {}).status == 200
    before = workflow(harness, workflow_id)

    assert_error(
        harness.api("PUT", f"/api/workflow/{workflow_id}/pause", {}),
        409,
        f"Workflow two_steps.1/{workflow_id} has ended, status cannot be updated.",
    )
    assert workflow(harness, workflow_id) == before


def test_a_paused_workflow_can_be_terminated(harness: Harness):
    workflow_id = start(harness)
    assert harness.api("PUT", f"/api/workflow/{workflow_id}/pause", {}).status == 200

    assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=enough", {}).status == 200

    ended = workflow(harness, workflow_id)
    assert (ended["status"], ended["reasonForIncompletion"]) == ("TERMINATED", "enough")
    assert [t["status"] for t in ended["tasks"]] == ["CANCELED"]


@pytest.mark.parametrize(("method", "operation"), [("PUT", "pause"), ("PUT", "resume"), ("DELETE", "remove")])
def test_operations_on_an_unknown_workflow_are_404s(harness: Harness, method: str, operation: str):
    assert_error(
        harness.api(method, f"/api/workflow/nope/{operation}", {}), 404, "No such workflow found by id: nope"
    )


# -- remove -----------------------------------------------------------------------------------------------
def test_remove_deletes_the_workflow_and_every_task_and_its_queued_work_is_dropped(harness: Harness):
    workflow_id = start(harness, WIDE)
    items = partition(harness, workflow_id)
    [header] = [item for item in items if item["SK"]["S"] == "#HEADER"]
    held = pending_tasks(header)  # attempts without an item yet
    assert held and len(items) - 1 + len(held) == 1 + BRANCHES + 1  # fork, leaves, join
    other_id = start(harness)

    removed = harness.api("DELETE", f"/api/workflow/{workflow_id}/remove?archiveWorkflow=true", {})

    assert (removed.status, removed.text) == (200, "")
    assert partition(harness, workflow_id) == []
    assert_error(
        harness.api("GET", f"/api/workflow/{workflow_id}"),
        404,
        f"No such workflow found by id: {workflow_id}",
    )
    assert harness.api("GET", f"/api/tasks/poll/batch/leaf?count={BRANCHES}").json() == []
    harness.pump()
    assert workflow(harness, other_id)["status"] == "RUNNING"
    assert_error(
        harness.api("DELETE", f"/api/workflow/{workflow_id}/remove", {}),
        404,
        f"No such workflow found by id: {workflow_id}",
    )


def test_a_finished_workflow_is_removed_too(harness: Harness):
    workflow_id = start(harness)
    complete(harness, "step_a", {})
    complete(harness, "step_b", {"v": 1})

    assert harness.api("DELETE", f"/api/workflow/{workflow_id}/remove", {}).status == 200
    assert harness.api("GET", f"/api/workflow/{workflow_id}/status").status == 404
    assert partition(harness, workflow_id) == []


def test_terminate_remove_terminates_then_deletes_and_refuses_a_completed_workflow(harness: Harness):
    running = start(harness)
    done = start(harness, ONE_STEP)
    complete(harness, "solo", {})

    response = harness.api("DELETE", f"/api/workflow/{running}/terminate-remove?reason=cleanup", {})
    assert (response.status, response.text) == (200, "")
    assert partition(harness, running) == []
    assert harness.api("GET", "/api/tasks/poll/batch/step_a?count=1").json() == []

    assert_error(
        harness.api("DELETE", f"/api/workflow/{done}/terminate-remove", {}),
        409,
        "Cannot terminate a COMPLETED workflow.",
    )
    assert workflow(harness, done)["status"] == "COMPLETED"


def test_bulk_remove_and_terminate_remove_report_each_id(harness: Harness):
    first, second, third = start(harness), start(harness), start(harness)

    removed = harness.api("DELETE", "/api/workflow/bulk/remove", [first, "nope"])
    assert removed.json()["bulkSuccessfulResults"] == [first]
    assert removed.json()["bulkErrorResults"] == {"nope": "No such workflow found by id: nope"}

    response = harness.api("DELETE", "/api/workflow/bulk/terminate-remove?reason=x", [second, third, first])
    assert response.json()["bulkSuccessfulResults"] == [second, third]
    assert response.json()["bulkErrorResults"] == {first: f"No such workflow found by id: {first}"}
    assert [partition(harness, w) for w in (first, second, third)] == [[], [], []]


# -- bulk -------------------------------------------------------------------------------------------------
def test_bulk_pause_reports_each_id_on_its_own(harness: Harness):
    running, finished = start(harness), start(harness)
    assert harness.api("DELETE", f"/api/workflow/{finished}?reason=done", {}).status == 200

    response = harness.api("PUT", "/api/workflow/bulk/pause", [running, finished, "nope"])

    assert response.status == 200
    assert response.json() == {
        "bulkSuccessfulResults": [running],
        "bulkErrorResults": {
            finished: f"Workflow two_steps.1/{finished} has ended, status cannot be updated.",
            "nope": "No such workflow found by id: nope",
        },
        "message": "Bulk Request has been processed.",
    }
    assert workflow(harness, running)["status"] == "PAUSED"
    assert workflow(harness, finished)["status"] == "TERMINATED"


def test_bulk_resume_wakes_every_resumed_workflow(harness: Harness):
    first, second, running = start(harness), start(harness), start(harness)
    assert harness.api("PUT", "/api/workflow/bulk/pause", [first, second]).json()["bulkErrorResults"] == {}
    complete(harness, "step_a", {})
    complete(harness, "step_a", {})

    response = harness.api("PUT", "/api/workflow/bulk/resume", [first, second, running])

    assert response.json()["bulkSuccessfulResults"] == [first, second]
    assert response.json()["bulkErrorResults"] == {
        running: f"The workflow {running} is not PAUSED so cannot resume. Current status is RUNNING"
    }
    harness.pump()
    polled = harness.api("GET", "/api/tasks/poll/batch/step_b?count=5").json()
    assert sorted(t["workflowInstanceId"] for t in polled) == sorted([first, second])


def test_bulk_terminate_applies_the_reason_and_refuses_completed_workflows(harness: Harness):
    running = start(harness)
    done = start(harness, ONE_STEP)
    complete(harness, "solo", {})
    assert workflow(harness, done)["status"] == "COMPLETED"

    response = harness.api("POST", "/api/workflow/bulk/terminate?reason=cleanup", [running, done])

    assert response.status == 200
    assert response.json()["bulkSuccessfulResults"] == [running]
    assert response.json()["bulkErrorResults"] == {done: "Cannot terminate a COMPLETED workflow."}
    ended = workflow(harness, running)
    assert (ended["status"], ended["reasonForIncompletion"]) == ("TERMINATED", "cleanup")
    assert workflow(harness, done)["status"] == "COMPLETED"


@pytest.mark.parametrize(
    ("method", "target", "operation"),
    [
        ("PUT", "/api/workflow/bulk/pause", "pauseWorkflow"),
        ("PUT", "/api/workflow/bulk/resume", "resumeWorkflow"),
        ("POST", "/api/workflow/bulk/terminate", "terminate"),
    ],
)
def test_bulk_calls_need_one_to_a_thousand_ids(harness: Harness, method: str, target: str, operation: str):
    workflow_id = start(harness)
    before = workflow(harness, workflow_id)

    empty = harness.api(method, target, [])
    assert_error(empty, 400, "Validation failed, check below errors for detail.")
    assert empty.json()["validationErrors"] == [
        {"path": f"{operation}.workflowIds", "message": "WorkflowIds list cannot be null."}
    ]
    too_many = harness.api(method, target, [workflow_id] * 1001)
    assert_error(too_many, 400, "Validation failed, check below errors for detail.")
    assert too_many.json()["validationErrors"][0]["message"] == (
        "Cannot process more than 1000 workflows. Please use multiple requests."
    )
    assert harness.api(method, target, {"ids": [workflow_id]}).status == 400
    assert harness.api(method, target).status == 400
    assert workflow(harness, workflow_id) == before
