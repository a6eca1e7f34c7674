"""``POST /api/workflow/execute/{name}/{version}``: start a workflow and answer when it is done, on moto.

The request waits with the runtime's ``sleep``; the harness's lets the engine run (pump) and moves the fake
clock, so the test controls time.
"""

from __future__ import annotations

import pytest

from tests.support.stack import Harness

WORKFLOW = {
    "name": "quick_then_slow",
    "version": 1,
    "tasks": [
        {
            "name": "quick",
            "taskReferenceName": "quick",
            "type": "INLINE",
            "inputParameters": {
                "evaluatorType": "javascript",
                "expression": "$.n * 2",
                "n": "${workflow.input.n}",
            },
        },
        {"name": "slow", "taskReferenceName": "slow"},
    ],
}
ONLY_QUICK = {**WORKFLOW, "name": "quick_only", "tasks": WORKFLOW["tasks"][:1]}


@pytest.fixture
def waits(harness: Harness) -> list[float]:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        harness.sleep(seconds)

    harness.runtime.sleep = sleep
    for definition in (WORKFLOW, ONLY_QUICK):
        assert harness.api("POST", "/api/metadata/workflow", definition).status == 200
    return slept


def test_a_workflow_that_finishes_answers_its_run(harness: Harness, waits: list[float]):
    response = harness.api("POST", "/api/workflow/execute/quick_only/1?requestId=r-1", {"input": {"n": 21}})
    assert response.status == 200
    run = response.json()
    assert (run["status"], run["output"], run["requestId"]) == ("COMPLETED", {"result": 42}, "r-1")
    assert run["targetWorkflowId"] == run["workflowId"] and run["responseType"] == "TARGET_WORKFLOW"
    assert "signalTimeout" not in run
    assert waits == []  # the start's own first decide ran its one task and finished it


def test_a_workflow_still_running_answers_its_state_after_wait_for_seconds(
    harness: Harness, waits: list[float]
):
    response = harness.api(
        "POST", "/api/workflow/execute/quick_then_slow/0?waitForSeconds=2", {"input": {"n": 1}}
    )
    run = response.json()
    assert response.status == 200
    assert (run["status"], run["signalTimeout"]) == ("RUNNING", True)
    assert sum(waits) == pytest.approx(2.0)


def test_wait_until_task_ref_answers_once_that_task_finished(harness: Harness, waits: list[float]):
    target = "/api/workflow/execute/quick_then_slow/1?waitUntilTaskRef=None,quick&waitForSeconds=5"
    run = harness.api("POST", target, {"input": {"n": 1}}).json()
    assert run["status"] == "RUNNING" and "signalTimeout" not in run
    assert {t["referenceTaskName"]: t["status"] for t in run["tasks"]}["quick"] == "COMPLETED"


def test_a_version_that_is_not_a_number_is_refused(harness: Harness, waits: list[float]):
    assert harness.api("POST", "/api/workflow/execute/quick_only/latest", {}).status == 400
