"""WAIT and HUMAN on moto: a WAIT ends when its timer fires, a HUMAN task when it is updated by reference.

Timers go through ``TimerTap`` (held until the fake clock reaches the moment SQS would show them), so the
test decides when time passes; nothing sleeps.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import Harness
from tests.support.timers import TimerTap

AFTER = {"name": "after", "taskReferenceName": "after_ref"}
WAIT_2M = {
    "name": "pause",
    "taskReferenceName": "wait_ref",
    "type": "WAIT",
    "inputParameters": {"duration": "2m"},
}
HUMAN = {
    "name": "approve",
    "taskReferenceName": "human_ref",
    "type": "HUMAN",
    "inputParameters": {"who": "${workflow.input.who}"},
}


@pytest.fixture
def tap(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> TimerTap:
    return TimerTap(harness, monkeypatch)


def start(harness: Harness, name: str, tasks: list[dict[str, Any]], workflow_input: dict[str, Any]) -> str:
    definition = {"name": name, "version": 1, "tasks": tasks}
    assert harness.api("POST", "/api/metadata/workflow", definition).status == 200
    response = harness.api("POST", f"/api/workflow/{name}", workflow_input)
    assert response.status == 200
    harness.pump("decider")
    return response.text


def tasks_by_ref(harness: Harness, workflow_id: str) -> dict[str, dict[str, Any]]:
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    return {t["referenceTaskName"]: t for t in execution["tasks"]}


def test_a_two_minute_wait_completes_when_its_timer_fires(harness: Harness, tap: TimerTap):
    workflow_id = start(harness, "wait_two_minutes", [WAIT_2M, AFTER], {})
    waiting = tasks_by_ref(harness, workflow_id)["wait_ref"]
    assert (waiting["status"], waiting["taskType"], waiting["callbackAfterSeconds"]) == (
        "IN_PROGRESS",
        "WAIT",
        120,
    )
    assert harness.api("GET", "/api/tasks/poll/batch/WAIT?timeout=0").json() == []  # never queued

    harness.clock.advance(119)
    tap.deliver()
    assert tasks_by_ref(harness, workflow_id)["wait_ref"]["status"] == "IN_PROGRESS"

    harness.clock.advance(1)
    assert tap.deliver() >= 1
    tasks = tasks_by_ref(harness, workflow_id)
    assert tasks["wait_ref"]["status"] == "COMPLETED"
    assert tasks["wait_ref"]["endTime"] == harness.clock.now
    assert tasks["after_ref"]["status"] == "SCHEDULED"


def test_a_human_task_is_completed_by_reference_with_its_output_merged(harness: Harness, tap: TimerTap):
    workflow_id = start(harness, "approval", [HUMAN, AFTER], {"who": "ops"})
    human = tasks_by_ref(harness, workflow_id)["human_ref"]
    assert (human["status"], human["inputData"]) == ("IN_PROGRESS", {"who": "ops"})

    progress = harness.api("POST", f"/api/tasks/{workflow_id}/human_ref/IN_PROGRESS", {"seen": True})
    assert (progress.status, progress.text) == (200, human["taskId"])
    harness.pump()
    human = tasks_by_ref(harness, workflow_id)["human_ref"]
    assert (human["status"], human["outputData"]) == ("IN_PROGRESS", {"seen": True})  # not re-queued

    done = harness.api("POST", f"/api/tasks/{workflow_id}/human_ref/COMPLETED?workerid=alice", {"ok": 1})
    assert (done.status, done.text) == (200, human["taskId"])
    harness.pump()
    tasks = tasks_by_ref(harness, workflow_id)
    assert tasks["human_ref"]["status"] == "COMPLETED"
    assert tasks["human_ref"]["outputData"] == {"seen": True, "ok": 1}
    assert tasks["human_ref"]["workerId"] == "alice"
    assert tasks["after_ref"]["status"] == "SCHEDULED"

    before = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    duplicate = harness.api("POST", f"/api/tasks/{workflow_id}/human_ref/FAILED", {"ok": 2})
    assert (duplicate.status, duplicate.text) == (200, "")  # no open task of that reference: nothing changes
    harness.pump()
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json() == before


def test_a_wait_for_an_update_is_completed_by_reference_before_any_timer(harness: Harness, tap: TimerTap):
    forever = {"name": "hold", "taskReferenceName": "hold_ref", "type": "WAIT"}
    workflow_id = start(harness, "hold_then_go", [forever, AFTER], {})
    assert tasks_by_ref(harness, workflow_id)["hold_ref"]["callbackAfterSeconds"] == 2147483647

    assert harness.api("POST", f"/api/tasks/{workflow_id}/hold_ref/COMPLETED", {"go": True}).status == 200
    harness.pump()
    tasks = tasks_by_ref(harness, workflow_id)
    assert (tasks["hold_ref"]["status"], tasks["hold_ref"]["outputData"]) == ("COMPLETED", {"go": True})
    assert tasks["after_ref"]["status"] == "SCHEDULED"


def test_the_sync_update_answers_the_workflow_after_the_decider_ran(harness: Harness, tap: TimerTap):
    workflow_id = start(harness, "approval_sync", [HUMAN], {"who": "ops"})

    response = harness.api("POST", f"/api/tasks/{workflow_id}/human_ref/COMPLETED/sync", {"ok": True})
    assert response.status == 200
    execution = response.json()
    assert execution["status"] == "COMPLETED"
    assert [(t["referenceTaskName"], t["outputData"]) for t in execution["tasks"]] == [
        ("human_ref", {"ok": True})
    ]

    again = harness.api("POST", f"/api/tasks/{workflow_id}/human_ref/COMPLETED/sync", {})
    assert again.status == 404
    assert again.json()["message"] == f"Found no running task human_ref of workflow {workflow_id} to update"


def test_by_reference_updates_refuse_bad_input(harness: Harness, tap: TimerTap):
    workflow_id = start(harness, "approval_bad", [HUMAN], {})
    assert harness.api("POST", f"/api/tasks/{workflow_id}/human_ref/DONE", {}).status == 400
    assert harness.api("POST", f"/api/tasks/{workflow_id}/human_ref/COMPLETED", [1, 2]).status == 400
    unknown = harness.api("POST", "/api/tasks/no-such-workflow/human_ref/COMPLETED", {})
    assert (unknown.status, unknown.text) == (200, "")
    assert tasks_by_ref(harness, workflow_id)["human_ref"]["status"] == "IN_PROGRESS"


def test_a_wait_in_a_loop_is_found_by_its_reference_without_the_iteration(harness: Harness, tap: TimerTap):
    hold = {"name": "hold", "taskReferenceName": "hold_ref", "type": "WAIT"}
    loop = {
        "name": "loop",
        "taskReferenceName": "loop_ref",
        "type": "DO_WHILE",
        "loopCondition": "false",
        "loopOver": [hold],
    }
    workflow_id = start(harness, "hold_in_loop", [loop], {})
    waiting = tasks_by_ref(harness, workflow_id)["hold_ref__1"]

    response = harness.api("POST", f"/api/tasks/{workflow_id}/hold_ref/COMPLETED", {"n": 1})
    assert (response.status, response.text) == (200, waiting["taskId"])
    harness.pump()
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["status"] == "COMPLETED"
    assert {t["referenceTaskName"]: t["status"] for t in execution["tasks"]} == {
        "loop_ref": "COMPLETED",
        "hold_ref__1": "COMPLETED",
    }
