"""Signals on moto: ``POST /api/tasks/{workflowId}/{status}/signal[/sync]`` completes the WAIT that blocks a
workflow, or one of its running sub-workflows, without naming it."""

from __future__ import annotations

import pytest

from tests.support.stack import Harness

GATE = {"name": "gate", "taskReferenceName": "gate", "type": "WAIT"}
AFTER = {"name": "after", "taskReferenceName": "after", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}
GATED = {
    "name": "gated",
    "version": 1,
    "tasks": [GATE, AFTER],
    "outputParameters": {"ok": "${gate.output.ok}"},
}
PARENT = {
    "name": "parent",
    "version": 1,
    "tasks": [
        {
            "name": "child",
            "taskReferenceName": "child",
            "type": "SUB_WORKFLOW",
            "subWorkflowParam": {"name": "gated", "version": 1},
        }
    ],
}


@pytest.fixture
def api(harness: Harness) -> Harness:
    for definition in (GATED, PARENT):
        assert harness.api("POST", "/api/metadata/workflow", definition).status == 200
    return harness


def start(harness: Harness, name: str) -> str:
    workflow_id = harness.api("POST", f"/api/workflow/{name}", {}).text
    harness.pump()
    return workflow_id


def execution(harness: Harness, workflow_id: str) -> dict:
    return harness.api("GET", f"/api/workflow/{workflow_id}").json()


def test_a_signal_completes_the_blocking_wait_once(api: Harness):
    workflow_id = start(api, "gated")
    response = api.api("POST", f"/api/tasks/{workflow_id}/COMPLETED/signal", {"ok": True})
    assert (response.status, response.text) == (200, "")
    api.pump()
    done = execution(api, workflow_id)
    assert (done["status"], done["output"]) == ("COMPLETED", {"ok": True})

    again = api.api("POST", f"/api/tasks/{workflow_id}/FAILED/signal", {"ok": False})
    assert again.status == 200
    api.pump()
    assert execution(api, workflow_id) == done


def test_a_signal_reaches_the_wait_of_a_running_sub_workflow(api: Harness):
    parent_id = start(api, "parent")
    assert api.api("POST", f"/api/tasks/{parent_id}/COMPLETED/signal", {"ok": "deep"}).status == 200
    api.pump()
    parent = execution(api, parent_id)
    assert parent["status"] == "COMPLETED"
    assert parent["tasks"][0]["outputData"]["ok"] == "deep"


def test_signal_sync_answers_the_workflow_run_or_404(api: Harness):
    workflow_id = start(api, "gated")
    run = api.api("POST", f"/api/tasks/{workflow_id}/COMPLETED/signal/sync", {"ok": 1}).json()
    assert (run["workflowId"], run["status"], run["output"]) == (workflow_id, "COMPLETED", {"ok": 1})
    nothing = api.api("POST", f"/api/tasks/{workflow_id}/COMPLETED/signal/sync", {})
    assert nothing.status == 404
    assert nothing.json()["message"] == f"Found no blocked task in workflow {workflow_id} to signal"
    assert api.api("POST", "/api/tasks/no-such-workflow/COMPLETED/signal", {}).status == 404
    assert api.api("POST", f"/api/tasks/{workflow_id}/NOPE/signal", {}).status == 400
