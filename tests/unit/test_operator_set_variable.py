"""SET_VARIABLE through decide(): shallow merge into workflow.variables, the size limit and its rollback."""

from __future__ import annotations

import dataclasses
import json

import pytest

from batonflow.engine.operators.set_variable import MAX_VARIABLES_KB, SetVariableOperator, serialised_size
from batonflow.engine.state import WorkflowState
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, current, definition, new_workflow, register_operators, step

SMALL_LIMIT_KB = 2  # the limit Conductor's own test harness runs with


def set_variable(ref: str, values: dict) -> dict:
    return {"name": "set_vars", "taskReferenceName": ref, "type": "SET_VARIABLE", "inputParameters": values}


READER = {
    "name": "reader",
    "taskReferenceName": "reader_ref",
    "inputParameters": {"count": "${workflow.variables.count}", "nested": "${workflow.variables.nested}"},
}


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    register_operators(monkeypatch, SetVariableOperator(max_variables_kb=SMALL_LIMIT_KB))


def with_variables(state: WorkflowState, variables: dict) -> WorkflowState:
    return dataclasses.replace(state, workflow=state.workflow.model_copy(update={"variables": variables}))


def test_variables_are_set_and_the_next_task_reads_them():
    tasks = [set_variable("set_ref", {"count": "${workflow.input.n}", "nested": {"a": 1}}), READER]
    state, plan = step(new_workflow(definition(tasks), {"n": 3}), T0)

    task = current(state, "set_ref")
    assert task.status == TaskStatus.COMPLETED
    assert (task.task_type, task.task_def_name) == ("SET_VARIABLE", "set_vars")
    assert task.input_data == {"count": 3, "nested": {"a": 1}}
    assert task.output_data == {}
    assert plan.workflow is not None and plan.workflow.variables == {"count": 3, "nested": {"a": 1}}
    assert state.workflow.variables == {"count": 3, "nested": {"a": 1}}
    assert current(state, "reader_ref").input_data == {"count": 3, "nested": {"a": 1}}


def test_each_key_overwrites_the_whole_variable_and_others_are_kept():
    tasks = [
        set_variable("first", {"nested": {"a": 1}, "count": 1}),
        set_variable("second", {"nested": {"b": 2}}),
        READER,
    ]
    state = with_variables(new_workflow(definition(tasks)), {"kept": True, "count": 0})
    state, _ = step(state, T0)

    assert state.workflow.variables == {"kept": True, "count": 1, "nested": {"b": 2}}
    assert current(state, "reader_ref").input_data == {"count": 1, "nested": {"b": 2}}


def test_workflow_output_parameters_see_the_final_variables():
    defn = definition(
        [set_variable("set_ref", {"var": "${workflow.input.var}"})],
        outputParameters={"variables": "${workflow.variables}"},
    )
    state, _ = step(new_workflow(defn, {"var": "var_test_value"}), T0)

    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"variables": {"var": "var_test_value"}}


def test_variables_exactly_at_the_limit_are_accepted():
    padding = SMALL_LIMIT_KB * 1024 - len('{"var":""}')
    state, _ = step(new_workflow(definition([set_variable("set_ref", {"var": "x" * padding})])), T0)

    assert current(state, "set_ref").status == TaskStatus.COMPLETED
    assert serialised_size(state.workflow.variables) == SMALL_LIMIT_KB * 1024


def test_variables_over_the_limit_fail_terminally_and_are_rolled_back():
    value = "01234567" * (1 + SMALL_LIMIT_KB * 1024 // 8)
    defn = definition(
        [set_variable("set_ref", {"var": "${workflow.input.var}", "other": 1}), READER],
        {"set_vars": {"retryCount": 3}},
        outputParameters={"variables": "${workflow.variables}"},
    )
    state = with_variables(new_workflow(defn, {"var": value}), {"other": 0})
    state, plan = step(state, T0)

    task = current(state, "set_ref")
    size = len(json.dumps({"other": 1, "var": value}, separators=(",", ":")))
    assert task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert task.reason_for_incompletion == (
        f"The variables payload size: {size} of workflow: wf-1 is greater than the permissible limit: "
        f"{SMALL_LIMIT_KB} kilobytes"
    )
    assert len(state.workflow.tasks) == 1  # a terminal error is never retried
    assert plan.workflow is not None and plan.workflow.variables is None
    assert state.workflow.variables == {"other": 0}
    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.output == {"variables": {"other": 0}}
    assert state.workflow.reason_for_incompletion == (
        f"Task {task.task_id} failed with status: FAILED and reason: '{task.reason_for_incompletion}'"
    )


def test_the_size_counts_utf8_bytes_of_compact_json():
    compact = '{"k":"é","n":[1,2.5]}'
    assert serialised_size({"k": "é", "n": [1, 2.5]}) == len(compact.encode("utf-8")) == len(compact) + 1


def test_the_default_limit_is_conductors():
    assert SetVariableOperator().max_variables_kb == MAX_VARIABLES_KB == 256
