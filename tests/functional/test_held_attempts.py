"""Attempts held in the workflow's header: a new SCHEDULED attempt gets no item until its first write
(a result, a lease, a start notice, a cancel, a timeout), which creates it whole; until then its record
rides in the header (``pending``) and in its task message, and every reader finds it there."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from batonflow.model import TaskStatus
from batonflow.model.wire import ResultMessage
from batonflow.service.tasks import Applied, apply_result
from batonflow.store.layout import ONE_WRITE_UNIT, pending_tasks
from tests.functional.test_item_sizes import item_size
from tests.functional.test_result_cost import send_result, workflow
from tests.support.stack import REGION, Harness
from tests.support.timers import TimerTap

TWO_STEPS = {
    "name": "two_steps",
    "tasks": [{"name": "job", "taskReferenceName": "first"}, {"name": "job", "taskReferenceName": "second"}],
    "timeoutPolicy": "TIME_OUT_WF",
}
FORK = {
    "name": "fork_two",
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [
                [{"name": "job", "taskReferenceName": "left"}],
                [{"name": "job", "taskReferenceName": "right"}],
            ],
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "right"]},
    ],
}
WIDE = {
    "name": "wide_fork",
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [[{"name": "job", "taskReferenceName": f"b{i}"}] for i in range(20)],
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": [f"b{i}" for i in range(20)]},
    ],
}


def start(harness: Harness, definition: dict[str, Any], workflow_input: dict[str, Any] | None = None) -> str:
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", definition).status == 200
    response = harness.api("POST", f"/api/workflow/{definition['name']}", workflow_input or {})
    assert response.status == 200, response.text
    harness.pump()
    return response.text


def items(harness: Harness, workflow_id: str) -> dict[str, dict[str, Any]]:
    response = boto3.client("dynamodb", region_name=REGION).query(
        TableName=harness.runtime.settings.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"WF#{workflow_id}"}},
    )
    return {item["SK"]["S"]: item for item in response["Items"]}


def task_items(harness: Harness, workflow_id: str) -> list[str]:
    return [key.removeprefix("T#") for key in items(harness, workflow_id) if key.startswith("T#")]


def held_ids(harness: Harness, workflow_id: str) -> list[str]:
    return [task.task_id or "" for task in pending_tasks(items(harness, workflow_id)["#HEADER"])]


def take_messages(harness: Harness) -> list[dict[str, Any]]:
    return harness.take_tasks("job")


def result_for(task: dict[str, Any], **fields: Any) -> ResultMessage:
    """The result ``batonflow.sdk`` sends: the task message's record handed back."""
    return ResultMessage(
        workflowInstanceId=task["workflowInstanceId"],
        taskId=task["taskId"],
        status=fields.pop("status", "COMPLETED"),
        startTime=fields.pop("startTime", 1),
        attempt=task.get("attempt"),
        **fields,
    )


def test_a_new_task_is_held_in_the_header_and_read_like_any_other(harness: Harness):
    workflow_id = start(harness, TWO_STEPS, {"order": 7})

    [message] = take_messages(harness)
    assert task_items(harness, workflow_id) == []
    assert held_ids(harness, workflow_id) == [message["taskId"]]
    assert item_size(items(harness, workflow_id)["#HEADER"]) <= ONE_WRITE_UNIT
    [task] = workflow(harness, workflow_id)["tasks"]
    assert (task["taskId"], task["status"], task["referenceTaskName"]) == (
        message["taskId"],
        "SCHEDULED",
        "first",
    )
    by_id = harness.api("GET", f"/api/tasks/{message['taskId']}")
    assert by_id.status == 200 and by_id.json() == task
    assert message["attempt"]


def test_a_result_creates_the_item_and_the_same_result_again_changes_nothing(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)
    [first] = take_messages(harness)
    result = result_for(first, outputData={"n": 1})

    send_result(harness, result)
    harness.pump("complete")
    [second] = take_messages(harness)
    assert task_items(harness, workflow_id) == [first["taskId"]]
    assert held_ids(harness, workflow_id) == [second["taskId"]]  # the first's record dropped, the next held

    send_result(harness, result)  # delivered again
    harness.pump("complete")

    assert take_messages(harness) == []  # nothing scheduled twice
    tasks = workflow(harness, workflow_id)["tasks"]
    assert [(t["referenceTaskName"], t["status"]) for t in tasks] == [
        ("first", "COMPLETED"),
        ("second", "SCHEDULED"),
    ]
    assert tasks[0]["outputData"] == {"n": 1}
    outcome = apply_result(harness.runtime, result)
    assert outcome.applied == Applied.ALREADY_DONE


def test_both_branches_of_a_fork_finishing_together_complete_the_join(harness: Harness):
    workflow_id = start(harness, FORK)
    left, right = take_messages(harness)
    assert sorted(held_ids(harness, workflow_id)) == sorted([left["taskId"], right["taskId"]])

    send_result(harness, result_for(left))
    send_result(harness, result_for(right))
    harness.pump("complete")
    harness.pump()

    assert workflow(harness, workflow_id)["status"] == "COMPLETED"
    assert held_ids(harness, workflow_id) == []


def test_an_attempt_put_back_on_its_queue_goes_without_its_record(harness: Harness):
    """An IN_PROGRESS result re-queues the attempt: its first write created its item, so the message sent
    again carries no record, and the result after it writes to the item."""
    workflow_id = start(harness, TWO_STEPS)
    [first] = take_messages(harness)

    apply_result(harness.runtime, result_for(first, status="IN_PROGRESS", callbackAfterSeconds=0))
    [again] = take_messages(harness)

    assert again["taskId"] == first["taskId"] and "attempt" not in again
    assert task_items(harness, workflow_id) == [first["taskId"]]
    assert apply_result(harness.runtime, result_for(again)).applied == Applied.FINISHED
    [task] = [t for t in workflow(harness, workflow_id)["tasks"] if t["taskId"] == first["taskId"]]
    assert task["status"] == "COMPLETED"


def test_a_result_after_a_terminate_finds_the_attempt_canceled(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)
    [first] = take_messages(harness)
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop", {}).status == 200
    harness.pump()
    assert task_items(harness, workflow_id) == [first["taskId"]]  # the cancel created it

    outcome = apply_result(harness.runtime, result_for(first, outputData={"late": True}))

    assert outcome.applied == Applied.ALREADY_DONE
    [task] = workflow(harness, workflow_id)["tasks"]
    assert (task["status"], task["outputData"]) == ("CANCELED", {})


def test_a_rest_poll_leases_a_held_task_by_creating_its_item(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)

    [polled] = harness.api("GET", "/api/tasks/poll/batch/job?count=1&workerid=w").json()

    assert polled["status"] == "IN_PROGRESS" and polled["workerId"] == "w"
    assert task_items(harness, workflow_id) == [polled["taskId"]]
    assert harness.api("GET", "/api/tasks/poll/batch/job?count=1&workerid=v").json() == []
    result = {"workflowInstanceId": workflow_id, "taskId": polled["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", result).status == 200
    harness.pump()
    tasks = workflow(harness, workflow_id)["tasks"]
    assert [(t["referenceTaskName"], t["status"], t["pollCount"]) for t in tasks] == [
        ("first", "COMPLETED", 1),
        ("second", "SCHEDULED", 0),
    ]
    assert held_ids(harness, workflow_id) == [tasks[1]["taskId"]]


def test_a_held_task_that_times_out_gets_its_item_from_the_decide(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    timers = TimerTap(harness, monkeypatch)
    definition = {**TWO_STEPS, "name": "short", "timeoutSeconds": 5}
    workflow_id = start(harness, definition)
    [first] = take_messages(harness)

    harness.clock.advance(6)
    assert timers.deliver() == 1
    harness.pump()

    after = workflow(harness, workflow_id)
    assert after["status"] == "TIMED_OUT"
    assert after["tasks"][0]["status"] in {"CANCELED", "TIMED_OUT"}
    assert task_items(harness, workflow_id) == [first["taskId"]]
    assert held_ids(harness, workflow_id) == []


def test_a_restart_drops_the_records_of_the_run_before(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)
    [first] = take_messages(harness)
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop", {}).status == 200
    harness.pump()

    assert harness.api("POST", f"/api/workflow/{workflow_id}/restart", {}).status == 204
    harness.pump()

    [again] = take_messages(harness)
    assert again["taskId"] != first["taskId"]
    assert held_ids(harness, workflow_id) == [again["taskId"]]
    [task] = workflow(harness, workflow_id)["tasks"]
    assert (task["taskId"], task["status"]) == (again["taskId"], "SCHEDULED")


def test_a_header_holds_what_fits_one_write_unit_and_the_rest_get_items(harness: Harness):
    workflow_id = start(harness, WIDE)

    held = held_ids(harness, workflow_id)
    assert 0 < len(held) < 20
    assert item_size(items(harness, workflow_id)["#HEADER"]) <= ONE_WRITE_UNIT
    assert len(task_items(harness, workflow_id)) + len(held) == 1 + 20 + 1  # fork, branches, join
    messages = take_messages(harness)
    assert sorted(m["taskId"] for m in messages if m.get("attempt")) == sorted(held)
    for message in messages:
        send_result(harness, result_for(message))
    harness.pump("complete")
    harness.pump()
    assert workflow(harness, workflow_id)["status"] == "COMPLETED"


def test_a_large_input_leaves_no_room_and_tasks_get_items(harness: Harness):
    workflow_id = start(harness, TWO_STEPS, {"blob": [f"{i:04d}-{i * 7919 % 10007}" for i in range(120)]})

    [message] = take_messages(harness)

    assert held_ids(harness, workflow_id) == []
    assert task_items(harness, workflow_id) == [message["taskId"]]
    assert "attempt" not in message


def test_a_late_result_for_a_removed_workflow_leaves_nothing_behind(harness: Harness):
    workflow_id = start(harness, TWO_STEPS)
    [first] = take_messages(harness)
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}/remove", {}).status == 200
    assert items(harness, workflow_id) == {}

    send_result(harness, result_for(first))
    harness.pump("complete")

    assert items(harness, workflow_id) == {}


def test_an_item_wins_over_a_record_left_in_the_header(harness: Harness):
    """A partial write sequence (the item created, the decide that drops the record never ran) leaves
    both: readers see the item."""
    workflow_id = start(harness, TWO_STEPS)
    [first] = take_messages(harness)
    assert harness.runtime.executions.create_attempt(
        harness.runtime.executions.get_task(workflow_id, first["taskId"]).model_copy(  # type: ignore[union-attr]
            update={"status": TaskStatus.IN_PROGRESS, "start_time": 5, "poll_count": 1}
        )
    )

    assert held_ids(harness, workflow_id) == [first["taskId"]]
    [task] = workflow(harness, workflow_id)["tasks"]
    assert (task["status"], task["startTime"]) == ("IN_PROGRESS", 5)
    stored = harness.runtime.executions.get_task(workflow_id, first["taskId"])
    assert stored is not None and stored.status == TaskStatus.IN_PROGRESS
