"""Workflow retry through the API on moto: refusals answer Conductor's error JSON and change nothing."""

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
