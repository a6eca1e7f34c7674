"""Rate limits (``rateLimitPerFrequency`` per ``rateLimitFrequencyInSeconds``) on moto: each start is
reserved in the first window with room, and the task's message is delayed to that window."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import Harness

FAN_OUT = {
    "name": "limited_fan_out",
    "version": 1,
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [[{"name": "limited", "taskReferenceName": f"limited_{i}"}] for i in range(5)],
        },
        {
            "name": "join",
            "taskReferenceName": "join",
            "type": "JOIN",
            "joinOn": [f"limited_{i}" for i in range(5)],
        },
    ],
}


@pytest.fixture
def sent(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(task type, delay in seconds) of every task message the engine sends."""
    captured: list[tuple[str, int]] = []
    queues = harness.runtime.queues
    send_tasks = queues.send_tasks

    def record(messages: Any, *, now: int) -> None:
        captured.extend((message.task_type, delay) for message, delay in messages)
        send_tasks(messages, now=now)

    monkeypatch.setattr(queues, "send_tasks", record)
    return captured


def start(harness: Harness, rate: int = 2, seconds: int = 10) -> str:
    task_def = {"name": "limited", "rateLimitPerFrequency": rate, "rateLimitFrequencyInSeconds": seconds}
    assert harness.api("POST", "/api/metadata/taskdefs", [task_def]).status == 200
    assert harness.api("POST", "/api/metadata/workflow", FAN_OUT).status == 200
    workflow_id = harness.api("POST", "/api/workflow/limited_fan_out", {}).text
    harness.pump("decider")
    return workflow_id


def test_starts_beyond_the_limit_are_delayed_to_the_next_windows(harness: Harness, sent: list):
    assert harness.clock.now % 10_000 == 0  # the test starts on a window boundary
    start(harness)
    assert sorted(delay for task_type, delay in sent if task_type == "limited") == [0, 0, 10, 10, 20]

    harness.clock.advance(3)  # later in the first window: the backlog reaches to the third one
    task = next(t for t in harness.api("GET", "/api/tasks/poll/batch/limited?count=1&timeout=0").json())
    body = {**task, "status": "IN_PROGRESS", "callbackAfterSeconds": 0}
    assert harness.api("POST", "/api/tasks", body).status == 200  # a re-queued task starts again: it waits
    assert sent[-1] == ("limited", 17)


def test_tasks_without_a_limit_cost_no_reservation(harness: Harness, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    windows = harness.runtime.start_windows
    monkeypatch.setattr(windows, "reserve", lambda *args: calls.append("reserve") or True)
    monkeypatch.setattr(windows, "first_open", lambda *args: calls.append("first_open") or 0)
    free = {**FAN_OUT, "name": "free"}  # "limited" has no registered definition here: no limit
    assert harness.api("POST", "/api/metadata/workflow", free).status == 200
    harness.api("POST", "/api/workflow/free", {})
    harness.pump("decider")
    assert calls == []
