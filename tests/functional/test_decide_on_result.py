"""The complete function decides the workflows of the results it applies, and hands the decider what it
cannot decide: a lost race, a decide that fails, dispatches it could not send, and a crash before any of
that (see ``batonflow.handlers.task_batches``). Every path ends with each task dispatched exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.model.wire import DeciderReason, ResultMessage
from batonflow.service import executor
from batonflow.store.errors import ConflictError
from batonflow.store.executions import ExecutionStore
from tests.support.sends import Wakes, refuse_sends
from tests.support.stack import Harness

TWO_STEPS = {
    "name": "two_steps",
    "tasks": [
        {"name": "step", "taskReferenceName": "first"},
        {"name": "step", "taskReferenceName": "second"},
    ],
}


def start(harness: Harness, wakes: Wakes) -> str:
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", TWO_STEPS).status == 200
    workflow_id = harness.api("POST", "/api/workflow/two_steps", {}).text
    harness.pump()
    wakes.messages.clear()  # the start's own
    return workflow_id


def take_tasks(harness: Harness) -> list[dict[str, Any]]:
    """Every task message in the queue, as an SQS-native worker takes them."""
    return harness.take_tasks("step")


def report(harness: Harness, task: dict[str, Any]) -> None:
    result = ResultMessage(
        workflowInstanceId=task["workflowInstanceId"],
        taskId=task["taskId"],
        status="COMPLETED",
        startTime=harness.clock(),
    )
    harness.runtime.sqs.send_message(QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json())


def statuses(harness: Harness, workflow_id: str) -> list[tuple[str, str]]:
    run = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    return [(task["referenceTaskName"], task["status"]) for task in run["tasks"]]


def assert_acknowledged(harness: Harness) -> None:
    assert harness.receive_all(harness.queue_url("ResultsQueue")) == []
    assert harness.receive_all(harness.queue_url("ResultsDLQ")) == []


def test_the_next_task_is_dispatched_by_the_function_that_applied_the_result(harness: Harness, wakes: Wakes):
    workflow_id = start(harness, wakes)
    [first] = take_tasks(harness)
    report(harness, first)

    harness.pump("complete")

    assert [task["referenceTaskName"] for task in take_tasks(harness)] == ["second"]
    assert wakes.messages == []  # no hop through the decider queue
    assert statuses(harness, workflow_id) == [("first", "COMPLETED"), ("second", "SCHEDULED")]
    assert_acknowledged(harness)


def test_a_decide_that_loses_a_race_leaves_the_workflow_to_the_decider(
    harness: Harness, wakes: Wakes, monkeypatch: pytest.MonkeyPatch
):
    workflow_id = start(harness, wakes)
    [first] = take_tasks(harness)
    report(harness, first)
    commit = ExecutionStore.commit
    lost: list[str] = []

    def lose_once(store: ExecutionStore, *args: Any, **kwargs: Any) -> None:
        if not lost:
            lost.append("lost")
            raise ConflictError("another decide committed first")
        commit(store, *args, **kwargs)

    monkeypatch.setattr(ExecutionStore, "commit", lose_once)

    harness.pump("complete")

    assert take_tasks(harness) == []
    assert [(m.workflow_id, m.reason, m.task_ids) for m in wakes.messages] == [
        (workflow_id, DeciderReason.TASK, [])  # all of it: the lost try may have stamped JOIN counts
    ]
    assert_acknowledged(harness)
    harness.pump("decider")
    assert [task["referenceTaskName"] for task in take_tasks(harness)] == ["second"]
    assert statuses(harness, workflow_id) == [("first", "COMPLETED"), ("second", "SCHEDULED")]


def test_dispatches_that_could_not_be_sent_are_repeated_by_the_decider_once(
    harness: Harness, wakes: Wakes, monkeypatch: pytest.MonkeyPatch
):
    workflow_id = start(harness, wakes)
    [first] = take_tasks(harness)
    report(harness, first)
    refused = refuse_sends(monkeypatch, times=1, url=harness.runtime.queues.task_queue_url("step"))

    harness.pump("complete")

    assert refused and take_tasks(harness) == []
    assert statuses(harness, workflow_id) == [("first", "COMPLETED"), ("second", "SCHEDULED")]  # committed
    assert [(m.workflow_id, m.reason) for m in wakes.messages] == [(workflow_id, DeciderReason.RECOVER)]
    assert_acknowledged(harness)
    harness.pump("decider")
    assert [task["referenceTaskName"] for task in take_tasks(harness)] == ["second"]
    harness.pump()
    assert take_tasks(harness) == []  # once


def test_a_workflow_that_cannot_be_decided_does_not_hold_back_the_others(
    harness: Harness, wakes: Wakes, monkeypatch: pytest.MonkeyPatch
):
    broken_id, healthy_id = start(harness, wakes), start(harness, wakes)
    tasks = {task["workflowInstanceId"]: task for task in take_tasks(harness)}
    report(harness, tasks[broken_id])
    report(harness, tasks[healthy_id])
    decide = executor.decide
    failures: list[str] = []

    def fail_for_the_broken_one(state: Any, now: int) -> Any:
        if state.workflow.workflow_id == broken_id and not failures:
            failures.append(broken_id)
            raise RuntimeError("a bug in decide for this workflow")
        return decide(state, now)

    monkeypatch.setattr(executor, "decide", fail_for_the_broken_one)

    harness.pump("complete")

    assert [task["workflowInstanceId"] for task in take_tasks(harness)] == [healthy_id]
    assert [(m.workflow_id, m.reason) for m in wakes.messages] == [(broken_id, DeciderReason.RECOVER)]
    assert_acknowledged(harness)
    harness.pump("decider")
    assert [task["workflowInstanceId"] for task in take_tasks(harness)] == [broken_id]


def test_a_crash_before_anything_reached_the_decider_is_repaired_by_the_redelivered_result(
    harness: Harness, wakes: Wakes, monkeypatch: pytest.MonkeyPatch
):
    """SQS fails every send of the invocation (the dispatches, then the wake-up that would repair them),
    so the handler fails and the result comes back: applied again as a duplicate, its workflow is decided
    as redelivered, which repeats the outbox of the commit that was never sent."""
    workflow_id = start(harness, wakes)
    [first] = take_tasks(harness)
    report(harness, first)
    failed_sends = refuse_sends(monkeypatch, times=2)

    harness.pump("complete")

    assert failed_sends == [harness.runtime.queues.task_queue_url("step"), harness.queue_url("DeciderQueue")]
    assert [task["referenceTaskName"] for task in take_tasks(harness)] == ["second"]
    assert statuses(harness, workflow_id) == [("first", "COMPLETED"), ("second", "SCHEDULED")]
    assert_acknowledged(harness)
    harness.pump()
    assert take_tasks(harness) == []  # once
