"""Skipping a task the flow has not reached (``engine.skip``)."""

from __future__ import annotations

import pytest

from batonflow.engine.skip import skip_task
from batonflow.errors import BadRequestError, ConflictError
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, apply, current, definition, new_workflow, step, worker_result

STEPS = [
    {"name": "one", "taskReferenceName": "one"},
    {"name": "two", "taskReferenceName": "two"},
    {"name": "three", "taskReferenceName": "three", "inputParameters": {"from_two": "${two.output.v}"}},
]


def running():
    state, _ = step(new_workflow(definition(STEPS)), T0)
    return state


def test_the_flow_jumps_over_a_skipped_task_and_reads_its_given_output():
    state = apply(running(), skip_task(running(), T0 + 1, "two", task_output={"v": 42}))
    placeholder = current(state, "two")
    assert (placeholder.status, placeholder.task_type, placeholder.output_data) == (
        TaskStatus.SKIPPED,
        "two",
        {"v": 42},
    )

    state, _ = step(worker_result(state, "one", T0 + 2), T0 + 2)
    assert current(state, "three").status == TaskStatus.SCHEDULED
    assert current(state, "three").input_data == {"from_two": 42}
    state, _ = step(worker_result(state, "three", T0 + 3, output={"done": 1}), T0 + 3)
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_only_a_running_workflow_and_a_task_not_yet_reached_can_be_skipped():
    state = running()
    with pytest.raises(ConflictError, match="already been scheduled"):
        skip_task(state, T0 + 1, "one")
    with pytest.raises(BadRequestError, match="not in the definition"):
        skip_task(state, T0 + 1, "nope")
    state, _ = step(worker_result(state, "one", T0 + 1, status=TaskStatus.FAILED_WITH_TERMINAL_ERROR), T0 + 1)
    with pytest.raises(ConflictError, match="not running: FAILED"):
        skip_task(state, T0 + 2, "three")
