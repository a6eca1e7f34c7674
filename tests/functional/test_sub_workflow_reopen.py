"""A sub-workflow that runs again (retry, restart, ``resumeSubworkflowTasks=true``) re-opens the workflows
above it, on moto through the REST API."""

from __future__ import annotations

import pytest

from batonflow.service import workflows
from tests.functional.test_sub_workflows import CHILD, PARENT, complete_one, start_parent, workflow
from tests.support.stack import Harness

GRANDPARENT = {
    "name": "grandparent_flow",
    "tasks": [
        {
            "name": "middle",
            "taskReferenceName": "middle",
            "type": "SUB_WORKFLOW",
            "subWorkflowParam": {"name": "parent_flow"},
            "inputParameters": {"x": "${workflow.input.x}"},
        }
    ],
    "outputParameters": {"z": "${middle.output.z}"},
}


def fail_child_task(harness: Harness) -> None:
    [task] = harness.api("GET", "/api/tasks/poll/batch/child_work?count=1").json()
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": "FAILED_WITH_TERMINAL_ERROR",
        "reasonForIncompletion": "no",
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()


def failed_parent(harness: Harness) -> tuple[str, str]:
    parent_id, child_id = start_parent(harness)
    fail_child_task(harness)
    assert workflow(harness, parent_id)["status"] == "FAILED"
    return parent_id, child_id


def assert_waits_for(harness: Harness, parent_id: str, child_id: str) -> None:
    parent = workflow(harness, parent_id)
    assert parent["status"] == "RUNNING" and "reasonForIncompletion" not in parent
    assert parent["lastRetriedTime"] > 0
    [sub] = parent["tasks"]
    assert (sub["status"], sub["subWorkflowId"]) == ("IN_PROGRESS", child_id)


def finish(harness: Harness, parent_id: str) -> dict:
    complete_one(harness, "child_work", {"y": 42})
    complete_one(harness, "after", {"z": 7})
    parent = workflow(harness, parent_id)
    assert (parent["status"], parent["output"]) == ("COMPLETED", {"z": 7})
    return parent


def test_retrying_the_child_re_opens_the_parent_which_then_completes(harness: Harness):
    parent_id, child_id = failed_parent(harness)
    assert harness.api("POST", f"/api/workflow/{child_id}/retry").status == 204
    harness.pump()
    assert_waits_for(harness, parent_id, child_id)

    parent = finish(harness, parent_id)
    sub, after = parent["tasks"]
    assert sub["outputData"] == {"y": 42, "subWorkflowId": child_id}
    assert after["inputData"] == {"y": 42}


def test_restarting_the_child_re_opens_the_parent(harness: Harness):
    parent_id, child_id = failed_parent(harness)
    assert harness.api("POST", f"/api/workflow/{child_id}/restart").status == 204
    harness.pump()
    assert_waits_for(harness, parent_id, child_id)
    finish(harness, parent_id)


def test_resume_subworkflow_tasks_retries_the_failed_child_instead_of_starting_a_new_one(harness: Harness):
    parent_id, child_id = failed_parent(harness)
    assert harness.api("POST", f"/api/workflow/{parent_id}/retry?resumeSubworkflowTasks=true").status == 204
    harness.pump()

    assert_waits_for(harness, parent_id, child_id)
    child = workflow(harness, child_id)
    assert child["status"] == "RUNNING"
    assert [(t["status"], t["retryCount"]) for t in child["tasks"]] == [
        ("FAILED_WITH_TERMINAL_ERROR", 0),
        ("SCHEDULED", 1),
    ]
    finish(harness, parent_id)


def test_a_plain_retry_of_the_parent_starts_a_new_child(harness: Harness):
    parent_id, child_id = failed_parent(harness)
    assert harness.api("POST", f"/api/workflow/{parent_id}/retry").status == 204
    harness.pump()
    first, second = workflow(harness, parent_id)["tasks"]
    assert first["subWorkflowId"] == child_id and second["subWorkflowId"] not in (None, child_id)
    assert workflow(harness, child_id)["status"] == "FAILED"  # the failed child stays as it was


def test_resumption_goes_down_to_the_deepest_child_and_re_opens_every_level(harness: Harness):
    assert harness.api("PUT", "/api/metadata/workflow", [CHILD, PARENT, GRANDPARENT]).status == 200
    top_id = harness.api("POST", "/api/workflow/grandparent_flow", {"x": 1}).text
    harness.pump()
    [middle] = workflow(harness, top_id)["tasks"]
    parent_id = middle["subWorkflowId"]
    [sub] = workflow(harness, parent_id)["tasks"]
    child_id = sub["subWorkflowId"]
    fail_child_task(harness)
    assert [workflow(harness, w)["status"] for w in (top_id, parent_id, child_id)] == ["FAILED"] * 3

    assert harness.api("POST", f"/api/workflow/{top_id}/retry?resumeSubworkflowTasks=true").status == 204
    harness.pump()
    assert [workflow(harness, w)["status"] for w in (top_id, parent_id, child_id)] == ["RUNNING"] * 3
    assert [t["status"] for t in workflow(harness, top_id)["tasks"]] == ["IN_PROGRESS"]

    finish(harness, parent_id)
    top = workflow(harness, top_id)
    assert (top["status"], top["output"]) == ("COMPLETED", {"z": 7})


def test_asking_again_repairs_a_parent_left_finished_by_a_crash(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    parent_id, child_id = failed_parent(harness)
    with monkeypatch.context() as crash:
        crash.setattr(workflows, "_resume_parents", lambda runtime, child: None)
        assert harness.api("POST", f"/api/workflow/{child_id}/retry").status == 204
    harness.pump()
    assert workflow(harness, parent_id)["status"] == "FAILED"
    assert workflow(harness, child_id)["status"] == "RUNNING"

    assert harness.api("POST", f"/api/workflow/{parent_id}/retry?resumeSubworkflowTasks=true").status == 204
    harness.pump()
    assert_waits_for(harness, parent_id, child_id)
    finish(harness, parent_id)


def test_an_optional_sub_workflow_task_leaves_its_parent_alone(harness: Harness):
    optional_parent = {
        **PARENT,
        "name": "optional_parent",
        "tasks": [{**PARENT["tasks"][0], "optional": True}, PARENT["tasks"][1]],
    }
    assert harness.api("PUT", "/api/metadata/workflow", [CHILD, optional_parent]).status == 200
    parent_id = harness.api("POST", "/api/workflow/optional_parent", {"x": 1}).text
    harness.pump()
    [sub] = workflow(harness, parent_id)["tasks"]
    fail_child_task(harness)
    complete_one(harness, "after", {})
    before = workflow(harness, parent_id)
    assert before["status"] == "COMPLETED"

    assert harness.api("POST", f"/api/workflow/{sub['subWorkflowId']}/retry").status == 204
    harness.pump()
    assert workflow(harness, parent_id) == before
