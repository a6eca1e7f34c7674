"""WAIT and HUMAN through decide(): deadlines from ``duration``/``until``, waiting for an update, wake-ups."""

from __future__ import annotations

from datetime import datetime

import pytest

from batonflow.engine.lifecycle import terminate
from batonflow.engine.operators.wait import WAITS_FOR_UPDATE, WaitInputError, parse_until_ms, wait_deadline
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, apply, current, definition, new_workflow, step, worker_result

AFTER = {"name": "after", "taskReferenceName": "after_ref"}


def wait(**inputs: object) -> dict[str, object]:
    return {"name": "pause", "taskReferenceName": "wait_ref", "type": "WAIT", "inputParameters": inputs}


HUMAN = {
    "name": "approve",
    "taskReferenceName": "human_ref",
    "type": "HUMAN",
    "inputParameters": {"who": "${workflow.input.who}"},
}


def test_a_duration_wait_is_in_progress_until_its_deadline_then_completes():
    state, plan = step(new_workflow(definition([wait(duration="2m"), AFTER])), T0)

    waiting = current(state, "wait_ref")
    assert (waiting.status, waiting.task_type, waiting.callback_after_seconds) == (
        TaskStatus.IN_PROGRESS,
        "WAIT",
        120,
    )
    assert waiting.input_data == {"duration": "2m"}
    assert plan.dispatches == ()  # never queued
    assert plan.wake_at == T0 + 120_000

    state, plan = step(state, T0 + 119_999)
    assert current(state, "wait_ref").status == TaskStatus.IN_PROGRESS
    assert plan.is_empty and plan.wake_at == T0 + 120_000

    state, plan = step(state, T0 + 120_000)
    done = current(state, "wait_ref")
    assert (done.status, done.end_time) == (TaskStatus.COMPLETED, T0 + 120_000)
    assert current(state, "after_ref").status == TaskStatus.SCHEDULED


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("10s", 10), ("1m30s", 90), ("2 hours 30 minutes", 9000), ("1d 3h", 97200), ("1D2H3M4S", 93784)],
)
def test_durations_in_the_reference_formats(duration: str, seconds: int):
    state, plan = step(new_workflow(definition([wait(duration=duration)])), T0)
    assert plan.wake_at == T0 + seconds * 1000
    assert current(state, "wait_ref").callback_after_seconds == seconds


def test_a_duration_from_a_template_is_resolved_first():
    state, plan = step(new_workflow(definition([wait(duration="${workflow.input.d}")]), {"d": "5s"}), T0)
    assert current(state, "wait_ref").input_data == {"duration": "5s"}
    assert plan.wake_at == T0 + 5_000


def test_an_until_in_the_past_completes_at_once():
    state, _ = step(new_workflow(definition([wait(until="2020-01-01 10:00 UTC"), AFTER])), T0)

    assert current(state, "wait_ref").status == TaskStatus.COMPLETED
    assert current(state, "after_ref").status == TaskStatus.SCHEDULED


def test_an_until_in_the_future_wakes_the_workflow_then():
    state, plan = step(new_workflow(definition([wait(until="2023-11-15 00:00 GMT+01:00")])), T0)

    deadline = parse_until_ms("2023-11-14 23:00")
    assert plan.wake_at == deadline
    assert current(state, "wait_ref").callback_after_seconds == (deadline - T0) // 1000
    state, _ = step(state, deadline)
    assert state.workflow.status == WorkflowStatus.COMPLETED


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        ("2026-12-01 10:00 UTC", "2026-12-01T10:00:00+00:00"),
        ("2026-12-01 10:00", "2026-12-01T10:00:00+00:00"),
        ("2026-12-01", "2026-12-01T00:00:00+00:00"),
        ("2025-06-15 09:00 GMT+00:00", "2025-06-15T09:00:00+00:00"),
        ("2025-06-15 09:00 -0230", "2025-06-15T11:30:00+00:00"),
        ("2025-06-15 09:00 Europe/Paris", "2025-06-15T07:00:00+00:00"),
    ],
)
def test_until_formats(until: str, expected: str):
    assert parse_until_ms(until) == int(datetime.fromisoformat(expected).timestamp() * 1000)


def test_both_duration_and_until_fail_the_task_terminally():
    state, plan = step(new_workflow(definition([wait(duration="1s", until="2030-01-01")])), T0)

    failed = current(state, "wait_ref")
    assert failed.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert (
        failed.reason_for_incompletion
        == "Both 'duration' and 'until' specified. Please provide only one input"
    )
    assert state.workflow.status == WorkflowStatus.FAILED
    assert plan.wake_at is None


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        ({"duration": "${workflow.input.d}"}, "Not valid duration: 5"),
        ({"until": "${workflow.input.d}"}, "Invalid/Unsupported Wait Until format.  Provided: 5"),
        ({"until": "2026-13-01"}, "Invalid/Unsupported Wait Until format.  Provided: 2026-13-01"),
        (
            {"until": "2026-12-01 10:00 Nowhere/Town"},
            "Invalid/Unsupported Wait Until format.  Provided: 2026-12-01 10:00 Nowhere/Town",
        ),
    ],
)
def test_input_that_gives_no_deadline_fails_the_task_terminally(inputs: dict[str, str], reason: str):
    state, _ = step(new_workflow(definition([wait(**inputs)]), {"d": 5}), T0)

    failed = current(state, "wait_ref")
    assert (failed.status, failed.reason_for_incompletion) == (TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason)


def test_without_duration_or_until_it_waits_for_an_update_with_no_wake_up():
    state, plan = step(new_workflow(definition([wait(), AFTER])), T0)

    waiting = current(state, "wait_ref")
    assert (waiting.status, waiting.callback_after_seconds) == (TaskStatus.IN_PROGRESS, WAITS_FOR_UPDATE)
    assert plan.wake_at is None
    state, plan = step(state, T0 + 365 * 86_400_000)
    assert current(state, "wait_ref").status == TaskStatus.IN_PROGRESS
    assert plan.is_empty and plan.wake_at is None

    state, _ = step(worker_result(state, "wait_ref", T0 + 5, output={"signal": 1}), T0 + 5)
    assert current(state, "after_ref").status == TaskStatus.SCHEDULED


def test_an_update_before_the_deadline_completes_a_timed_wait_early():
    state, _ = step(new_workflow(definition([wait(duration="1h"), AFTER])), T0)

    state, _ = step(worker_result(state, "wait_ref", T0 + 10, output={"early": True}), T0 + 10)
    assert current(state, "wait_ref").output_data == {"early": True}
    assert current(state, "after_ref").status == TaskStatus.SCHEDULED


def test_the_wake_up_is_the_earliest_of_a_wait_and_a_worker_timeout():
    defn = definition(
        [
            {
                "name": "fork",
                "taskReferenceName": "fork_ref",
                "type": "FORK_JOIN",
                "forkTasks": [[wait(duration="30s")], [{"name": "work", "taskReferenceName": "work_ref"}]],
            },
            {
                "name": "join",
                "taskReferenceName": "join_ref",
                "type": "JOIN",
                "joinOn": ["wait_ref", "work_ref"],
            },
        ],
        {"work": {"pollTimeoutSeconds": 60, "timeoutPolicy": "TIME_OUT_WF"}},
    )
    _, plan = step(new_workflow(defn), T0)
    assert plan.wake_at == T0 + 30_000


def test_a_human_task_stays_in_progress_until_updated():
    state, plan = step(new_workflow(definition([HUMAN, AFTER]), {"who": "ops"}), T0)

    human = current(state, "human_ref")
    assert (human.status, human.task_type, human.input_data) == (
        TaskStatus.IN_PROGRESS,
        "HUMAN",
        {"who": "ops"},
    )
    assert (plan.dispatches, plan.wake_at) == ((), None)
    state, plan = step(state, T0 + 86_400_000)
    assert plan.is_empty and current(state, "human_ref").status == TaskStatus.IN_PROGRESS

    state, _ = step(worker_result(state, "human_ref", T0 + 1, output={"approved": True}), T0 + 1)
    assert current(state, "after_ref").status == TaskStatus.SCHEDULED


def test_a_failed_human_task_fails_the_workflow():
    state, _ = step(new_workflow(definition([HUMAN, AFTER])), T0)
    state, _ = step(
        worker_result(state, "human_ref", T0 + 1, status=TaskStatus.FAILED, reason="rejected"), T0 + 1
    )
    assert state.workflow.status == WorkflowStatus.FAILED


def test_wait_deadline_reads_only_the_wait_inputs():
    assert wait_deadline({"other": "1s"}, T0) is None
    assert wait_deadline({"duration": "  ", "until": ""}, T0) is None
    with pytest.raises(WaitInputError):
        wait_deadline({"duration": "10"}, T0)  # a bare number is no duration


def test_terminating_the_workflow_cancels_an_open_wait_and_human_task():
    fork = {
        "name": "fork",
        "taskReferenceName": "fork_ref",
        "type": "FORK_JOIN",
        "forkTasks": [[wait(duration="1h")], [HUMAN]],
    }
    join = {
        "name": "join",
        "taskReferenceName": "join_ref",
        "type": "JOIN",
        "joinOn": ["wait_ref", "human_ref"],
    }
    state, _ = step(new_workflow(definition([fork, join])), T0)

    state = apply(state, terminate(state, "stop", T0 + 1))
    assert state.workflow.status == WorkflowStatus.TERMINATED
    assert {current(state, r).status for r in ("wait_ref", "human_ref")} == {TaskStatus.CANCELED}
    _, plan = step(state, T0 + 3_600_000)
    assert plan.wake_at is None and plan.task_changes == ()
