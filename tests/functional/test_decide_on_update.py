"""A task update through the REST API (conductor-python's path) decides its workflow in the request, as
Conductor does, and hands the decider only what it cannot decide there: a plan wider than a request may
write, a lost race, a failure. A worker sending its update again after no answer gets the dispatches the
first request committed and never sent (see ``batonflow.service.deciding``)."""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.model.wire import DeciderReason
from batonflow.service import tasks
from tests.support.sends import Wakes, refuse_sends
from tests.support.stack import Harness

TWO_STEPS = {
    "name": "rest_two_steps",
    "tasks": [
        {"name": "rest_step", "taskReferenceName": "first"},
        {"name": "rest_step", "taskReferenceName": "second"},
    ],
}
THEN_A_FORK = {
    "name": "rest_then_fork",
    "tasks": [
        {"name": "rest_step", "taskReferenceName": "first"},
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [
                [{"name": "rest_step", "taskReferenceName": "left"}],
                [{"name": "rest_step", "taskReferenceName": "right"}],
            ],
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "right"]},
    ],
}


def start(harness: Harness, wakes: Wakes, definition: dict[str, Any]) -> str:
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", definition).status == 200
    workflow_id = harness.api("POST", f"/api/workflow/{definition['name']}", {}).text
    harness.pump()
    wakes.messages.clear()  # the start's own
    return workflow_id


def poll(harness: Harness) -> list[dict[str, Any]]:
    """Every rest_step task there is, polled as conductor-python polls."""
    response = harness.api("GET", "/api/tasks/poll/batch/rest_step?count=10&timeout=0&workerid=w1")
    return response.json() if response.status == 200 else []


def completed(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "outputData": {"done": task["referenceTaskName"]},
        "workerId": "w1",
    }


def statuses(harness: Harness, workflow_id: str) -> list[tuple[str, str]]:
    run = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    return [(task["referenceTaskName"], task["status"]) for task in run["tasks"]]


def test_an_update_dispatches_the_next_task_before_it_answers(harness: Harness, wakes: Wakes):
    workflow_id = start(harness, wakes, TWO_STEPS)
    [first] = poll(harness)

    response = harness.api("POST", "/api/tasks", completed(first))

    assert response.status == 200 and response.text == first["taskId"]
    assert wakes.messages == []  # no hop through the decider queue
    assert statuses(harness, workflow_id) == [("first", "COMPLETED"), ("second", "SCHEDULED")]
    assert [task["referenceTaskName"] for task in poll(harness)] == ["second"]


def test_a_synchronous_update_by_reference_answers_the_workflow_as_decided_without_waiting(
    harness: Harness, wakes: Wakes, monkeypatch: pytest.MonkeyPatch
):
    workflow_id = start(harness, wakes, TWO_STEPS)
    waits: list[float] = []
    monkeypatch.setattr(harness.runtime, "sleep", waits.append)

    response = harness.api("POST", f"/api/tasks/{workflow_id}/first/COMPLETED/sync", {"by": "reference"})

    assert response.status == 200
    run = response.json()
    assert [(t["referenceTaskName"], t["status"]) for t in run["tasks"]] == [
        ("first", "COMPLETED"),
        ("second", "SCHEDULED"),
    ]
    assert waits == []


def test_a_plan_wider_than_a_request_may_write_is_left_to_the_decider(
    harness: Harness, wakes: Wakes, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(tasks, "MAX_NEW_TASKS_IN_REQUEST", 2)  # the fork, its two branches and the join: 4
    workflow_id = start(harness, wakes, THEN_A_FORK)
    [first] = poll(harness)

    assert harness.api("POST", "/api/tasks", completed(first)).status == 200

    assert statuses(harness, workflow_id) == [("first", "COMPLETED")]  # nothing of the plan written
    assert [(m.workflow_id, m.reason, m.task_ids) for m in wakes.messages] == [
        (workflow_id, DeciderReason.TASK, [first["taskId"]])
    ]
    harness.pump("decider")
    assert sorted(task["referenceTaskName"] for task in poll(harness)) == ["left", "right"]


def test_an_update_sent_again_after_a_failed_answer_gets_the_dispatches_its_first_request_committed(
    harness: Harness, wakes: Wakes, monkeypatch: pytest.MonkeyPatch
):
    """SQS fails every send of the first request (the dispatch, then the wake-up that would repair it), so
    it answers 500 after its commit; the worker sends the update again, and that request, finding the
    result applied, repeats the commit's outbox: the next task arrives, once."""
    workflow_id = start(harness, wakes, TWO_STEPS)
    [first] = poll(harness)
    refuse_sends(monkeypatch, times=2)

    assert harness.api("POST", "/api/tasks", completed(first)).status == 500
    assert statuses(harness, workflow_id) == [("first", "COMPLETED"), ("second", "SCHEDULED")]  # committed
    assert poll(harness) == []  # never sent

    assert harness.api("POST", "/api/tasks", completed(first)).status == 200

    assert [task["referenceTaskName"] for task in poll(harness)] == ["second"]
    assert [(m.workflow_id, m.reason) for m in wakes.messages] == [
        (workflow_id, DeciderReason.RECOVER)
    ]  # refused
    harness.pump()
    assert poll(harness) == []  # once
