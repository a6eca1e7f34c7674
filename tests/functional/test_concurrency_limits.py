"""``concurrentExecLimit`` on moto: at most N attempts of a definition are out with workers; the others
wait, in the order they were scheduled, and are sent as slots are given back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batonflow.model.wire import DeciderMessage, DeciderReason, ResultMessage
from batonflow.service.concurrency import REVIEW_INTERVAL_MS
from tests.support.stack import Harness
from tests.support.timers import TimerTap

ONE_TASK = {
    "name": "narrow_flow",
    "version": 1,
    "tasks": [{"name": "narrow", "taskReferenceName": "narrow_ref"}],
}


def register(harness: Harness, limit: int = 2, **task_def: Any) -> None:
    definition = {"name": "narrow", "concurrentExecLimit": limit, "retryDelaySeconds": 0, **task_def}
    assert harness.api("POST", "/api/metadata/taskdefs", [definition]).status == 200
    assert harness.api("POST", "/api/metadata/workflow", ONE_TASK).status == 200


def start(harness: Harness, count: int) -> list[str]:
    ids = []
    for index in range(count):
        response = harness.api("POST", "/api/workflow/narrow_flow", {"n": index})
        assert response.status == 200, response.text
        ids.append(response.text)
        harness.pump("decider")
        harness.clock.advance(0.001)  # distinct scheduled times: the backlog's order is the start order
    return ids


def poll(harness: Harness, count: int = 10) -> list[dict]:
    response = harness.api("GET", f"/api/tasks/poll/batch/narrow?count={count}&timeout=0&workerid=w1")
    assert response.status == 200
    return response.json()


def complete(harness: Harness, task: dict, status: str = "COMPLETED") -> None:
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": status,
        "outputData": {"done": task["inputData"]},
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump("decider")


def status(harness: Harness, workflow_id: str) -> str:
    return harness.api("GET", f"/api/workflow/{workflow_id}/status").json()["status"]


def test_only_the_limit_is_handed_out_and_the_others_follow_in_order(harness: Harness):
    register(harness, limit=2)
    ids = start(harness, 5)

    first = poll(harness)
    assert [t["workflowInstanceId"] for t in first] == ids[:2]
    assert poll(harness) == []  # three wait: nothing more is in the queue

    complete(harness, first[0])
    [third] = poll(harness)
    assert third["workflowInstanceId"] == ids[2]
    assert poll(harness) == []

    complete(harness, first[1])
    complete(harness, third)
    rest = poll(harness)
    assert [t["workflowInstanceId"] for t in rest] == ids[3:]
    for task in rest:
        complete(harness, task)
    assert [status(harness, w) for w in ids] == ["COMPLETED"] * 5
    assert harness.runtime.exec_slots.holders("narrow") == []
    assert harness.runtime.exec_slots.waiting("narrow", 10) == []


def test_sqs_native_results_give_slots_back_and_a_duplicate_result_frees_one_slot_only(harness: Harness):
    register(harness, limit=1)
    ids = start(harness, 3)
    queue = harness.runtime.queues.task_queue_url("narrow")
    [message] = harness.receive_all(queue)
    task = json.loads(message["Body"])
    assert task["workflowInstanceId"] == ids[0]

    result = ResultMessage(workflowInstanceId=ids[0], taskId=task["taskId"], status="COMPLETED")
    for _ in range(2):  # the worker's result arrives twice, and so does the decide it causes
        harness.runtime.sqs.send_message(
            QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json()
        )
    harness.pump("complete", "decider")
    wake = DeciderMessage(workflowId=ids[0], reason=DeciderReason.TASK, taskIds=[task["taskId"]])
    harness.runtime.queues.wake({ids[0]: wake})
    harness.pump("decider")

    [second] = harness.receive_all(queue)  # one slot was given back, so exactly one more went out
    assert json.loads(second["Body"])["workflowInstanceId"] == ids[1]
    assert status(harness, ids[0]) == "COMPLETED"
    assert harness.runtime.exec_slots.holders("narrow") == [
        f"{ids[1]}/{json.loads(second['Body'])['taskId']}"
    ]


def test_a_waiting_attempt_of_a_terminated_workflow_is_never_sent(harness: Harness):
    register(harness, limit=1)
    ids = start(harness, 3)
    [running] = poll(harness)
    assert harness.api("DELETE", f"/api/workflow/{ids[1]}?reason=no%20longer%20needed").status == 200
    harness.pump("decider")

    complete(harness, running)
    [next_task] = poll(harness)
    assert next_task["workflowInstanceId"] == ids[2]
    assert status(harness, ids[1]) == "TERMINATED"


def test_a_failed_attempt_gives_its_slot_to_the_backlog_and_its_retry_queues_behind(harness: Harness):
    register(harness, limit=1, retryCount=1)
    ids = start(harness, 2)
    [first] = poll(harness)
    complete(harness, first, status="FAILED")

    [second] = poll(harness)  # the waiting workflow got the slot; the retry waits behind it
    assert second["workflowInstanceId"] == ids[1]
    complete(harness, second)
    [retry] = poll(harness)
    assert (retry["workflowInstanceId"], retry["retryCount"]) == (ids[0], 1)


def test_a_slot_left_behind_is_reclaimed_by_the_review(harness: Harness, monkeypatch: pytest.MonkeyPatch):
    timers = TimerTap(harness, monkeypatch)
    register(harness, limit=1)
    ids = start(harness, 2)
    [holder] = poll(harness)
    # the workflow holding the slot is removed: nothing will ever report its attempt finished
    assert harness.api("DELETE", f"/api/workflow/{holder['workflowInstanceId']}/remove").status == 200
    assert poll(harness) == []

    harness.clock.advance(REVIEW_INTERVAL_MS / 1000)
    assert timers.deliver() == 1  # one review for the backlog, however many attempts wait
    [admitted] = poll(harness)
    assert admitted["workflowInstanceId"] == ids[1]
    assert harness.runtime.exec_slots.holders("narrow") == [f"{ids[1]}/{admitted['taskId']}"]


def test_a_callback_keeps_the_slot_and_the_attempt_comes_back_after_its_delay(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    timers = TimerTap(harness, monkeypatch)
    register(harness, limit=1)
    ids = start(harness, 2)
    [task] = poll(harness)
    body = {**task, "status": "IN_PROGRESS", "callbackAfterSeconds": 30}
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump("decider")
    assert poll(harness) == []  # still in progress: the other workflow keeps waiting

    harness.clock.advance(30)
    timers.deliver()
    [again] = poll(harness)
    assert (again["taskId"], again["workflowInstanceId"]) == (task["taskId"], ids[0])


def test_definitions_without_a_limit_touch_no_slots(harness: Harness, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    slots = harness.runtime.exec_slots
    for name in ("acquire", "release", "wait", "waiting"):
        monkeypatch.setattr(slots, name, lambda *args, _name=name, **kwargs: calls.append(_name))
    register(harness, limit=0)
    [workflow_id] = start(harness, 1)
    complete(harness, poll(harness)[0])
    assert status(harness, workflow_id) == "COMPLETED"
    assert calls == []
