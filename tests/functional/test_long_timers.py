"""Delays beyond SQS's 15-minute limit, on a fake clock: timers are re-sent until due, then act
(``tests.support.timers.TimerTap`` stands in for the timer queue's delay)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import Harness
from tests.support.timers import TimerTap

QUARTER_HOUR = 15 * 60


@pytest.fixture
def tap(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> TimerTap:
    return TimerTap(harness, monkeypatch)


def register(harness: Harness, task_def: dict[str, Any], **workflow: Any) -> None:
    assert harness.api("POST", "/api/metadata/taskdefs", [task_def]).status == 200
    definition = {
        "name": "slow",
        "version": 1,
        "tasks": [{"name": task_def["name"], "taskReferenceName": "step"}],
        **workflow,
    }
    assert harness.api("POST", "/api/metadata/workflow", definition).status == 200


def start(harness: Harness) -> str:
    workflow_id = harness.api("POST", "/api/workflow/slow", {}).text
    harness.pump("decider")
    return workflow_id


def poll(harness: Harness, task_type: str) -> list[dict[str, Any]]:
    return harness.api("GET", f"/api/tasks/poll/batch/{task_type}?count=1&timeout=0").json()


def update(harness: Harness, task: dict[str, Any], status: str, **fields: Any) -> None:
    body = {"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": status}
    assert harness.api("POST", "/api/tasks", {**body, **fields}).status == 200
    harness.pump("decider", "complete")


def status(harness: Harness, workflow_id: str) -> str:
    return harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=false").json()["status"]


def test_a_retry_delay_of_an_hour_arrives_after_the_timer_is_re_sent_three_times(
    harness: Harness, tap: TimerTap
):
    register(
        harness, {"name": "flaky", "retryCount": 1, "retryDelaySeconds": 3600, "responseTimeoutSeconds": 10}
    )
    start(harness)
    [first] = poll(harness, "flaky")
    update(harness, first, "FAILED", reasonForIncompletion="try later")

    waited = 0
    while not (retry := poll(harness, "flaky")):
        assert waited < 3600, "the retry arrived early"
        harness.clock.advance(QUARTER_HOUR)
        waited += QUARTER_HOUR
        assert tap.deliver() >= 1
        assert waited <= 3600 + QUARTER_HOUR, "the retry never arrived"
    assert retry[0]["retryCount"] == 1
    assert waited == 3600
    assert tap.delays.count(QUARTER_HOUR) >= 4  # sent with the longest SQS delay, then re-sent three times


def test_a_callback_after_half_an_hour_hands_the_task_out_again_only_then(harness: Harness, tap: TimerTap):
    register(harness, {"name": "patient", "responseTimeoutSeconds": 10})
    start(harness)
    [task] = poll(harness, "patient")
    update(harness, task, "IN_PROGRESS", callbackAfterSeconds=1800, outputData={"step": 1})

    harness.clock.advance(QUARTER_HOUR)
    tap.deliver()
    assert poll(harness, "patient") == []
    harness.clock.advance(QUARTER_HOUR)
    tap.deliver()
    [again] = poll(harness, "patient")
    assert again["taskId"] == task["taskId"]
    assert again["outputData"] == {"step": 1}


def test_a_two_hour_workflow_timeout_fires_through_re_sent_wake_ups(harness: Harness, tap: TimerTap):
    register(
        harness,
        {"name": "never_polled", "responseTimeoutSeconds": 10},
        timeoutSeconds=7200,
        timeoutPolicy="TIME_OUT_WF",
    )
    workflow_id = start(harness)
    for _ in range(7):
        harness.clock.advance(QUARTER_HOUR)
        tap.deliver()
        assert status(harness, workflow_id) == "RUNNING"
    harness.clock.advance(QUARTER_HOUR)
    tap.deliver()
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["status"] == "TIMED_OUT"
    assert execution["reasonForIncompletion"].startswith("Workflow timed out after 7200 seconds")
