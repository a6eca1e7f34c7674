"""NOOP through decide(): completes at once, ignores its inputParameters."""

from __future__ import annotations

from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, current, definition, new_workflow, step

NOOP = {
    "name": "nothing",
    "taskReferenceName": "noop_ref",
    "type": "NOOP",
    "inputParameters": {"ignored": "${workflow.input.x}", "bad": "${nowhere.output.y}"},
}
AFTER = {"name": "after", "taskReferenceName": "after_ref", "inputParameters": {"x": "${workflow.input.x}"}}


def test_noop_completes_in_the_same_decide_with_empty_input_and_output():
    state, plan = step(new_workflow(definition([NOOP, AFTER]), {"x": 1}), T0)

    noop = current(state, "noop_ref")
    assert noop.status == TaskStatus.COMPLETED
    assert noop.input_data == {}
    assert noop.output_data == {}
    assert (noop.task_type, noop.task_def_name) == ("NOOP", "nothing")
    assert (noop.start_time, noop.end_time) == (T0, T0)
    assert current(state, "after_ref").status == TaskStatus.SCHEDULED
    assert [d.task.reference_task_name for d in plan.dispatches] == ["after_ref"]


def test_a_workflow_of_only_noops_completes_when_started():
    second = {**NOOP, "taskReferenceName": "noop2_ref"}
    state, plan = step(new_workflow(definition([NOOP, second])), T0)

    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {}
    assert [t.seq for t in state.workflow.tasks] == [1, 2]
    assert plan.dispatches == ()
