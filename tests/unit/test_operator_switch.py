"""SWITCH and DECISION through decide(): case evaluation, branches, nesting, errors."""

from __future__ import annotations

from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, current, definition, new_workflow, step, worker_result


def switch(expression: str, evaluator: str = "value-param", **extra) -> dict:
    return {
        "name": "switch",
        "taskReferenceName": "sw",
        "type": "SWITCH",
        "evaluatorType": evaluator,
        "expression": expression,
        "inputParameters": {"kind": "${workflow.input.kind}", "n": "${workflow.input.n}"},
        "decisionCases": {
            "a": [
                {"name": "task_a", "taskReferenceName": "a1"},
                {"name": "task_a2", "taskReferenceName": "a2"},
            ],
            "b": [{"name": "task_b", "taskReferenceName": "b1"}],
            "empty": [],
        },
        "defaultCase": [{"name": "task_d", "taskReferenceName": "d1"}],
        **extra,
    }


AFTER = {"name": "after", "taskReferenceName": "after"}


def refs(state) -> list[str]:
    return [t.reference_task_name for t in state.workflow.tasks]


def test_value_param_picks_the_case_and_the_flow_continues_after_the_switch():
    state, _ = step(new_workflow(definition([switch("kind"), AFTER]), {"kind": "a"}), T0)
    sw = current(state, "sw")
    assert sw.status == TaskStatus.COMPLETED
    assert sw.task_type == "SWITCH" and sw.task_def_name == "SWITCH"
    assert sw.output_data == {"evaluationResult": ["a"], "selectedCase": "a"}
    assert sw.input_data["case"] == "a" and sw.input_data["hasChildren"] == "true"
    assert refs(state) == ["sw", "a1"]
    state = worker_result(state, "a1", T0 + 1)
    state, _ = step(state, T0 + 2)
    state = worker_result(state, "a2", T0 + 3)
    state, _ = step(state, T0 + 4)
    assert refs(state) == ["sw", "a1", "a2", "after"]
    state = worker_result(state, "after", T0 + 5)
    state, _ = step(state, T0 + 6)
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_missing_key_takes_the_default_case_and_an_empty_case_selects_nothing():
    state, _ = step(new_workflow(definition([switch("kind"), AFTER]), {"kind": "zzz"}), T0)
    assert refs(state) == ["sw", "d1"]
    state, _ = step(new_workflow(definition([switch("kind"), AFTER]), {"kind": "empty"}), T0)
    assert refs(state) == ["sw", "after"]
    assert "hasChildren" not in current(state, "sw").input_data


def test_a_missing_value_is_the_case_null():
    state, _ = step(new_workflow(definition([switch("kind"), AFTER]), {}), T0)
    assert current(state, "sw").output_data["selectedCase"] == "null"


def test_javascript_and_graaljs_evaluators():
    for evaluator in ("javascript", "graaljs"):
        expression = "$.n > 5 ? 'a' : 'b'"
        state, _ = step(new_workflow(definition([switch(expression, evaluator)]), {"n": 9}), T0)
        assert refs(state) == ["sw", "a1"]


def test_a_script_error_fails_the_switch_and_the_workflow():
    state, _ = step(new_workflow(definition([switch("$.nope.deeper", "javascript")]), {}), T0)
    assert current(state, "sw").status == TaskStatus.FAILED
    assert state.workflow.status == WorkflowStatus.FAILED


def test_an_unknown_evaluator_fails_the_workflow():
    state, _ = step(new_workflow(definition([switch("kind", "cobol")]), {"kind": "a"}), T0)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.reason_for_incompletion == "No evaluator registered for type: cobol"


def test_nested_switches_continue_after_the_outer_switch():
    inner = switch("kind") | {"taskReferenceName": "inner"}
    outer = {
        "name": "switch",
        "taskReferenceName": "outer",
        "type": "SWITCH",
        "evaluatorType": "value-param",
        "expression": "kind",
        "inputParameters": {"kind": "${workflow.input.kind}"},
        "decisionCases": {"b": [inner]},
    }
    state, _ = step(new_workflow(definition([outer, AFTER]), {"kind": "b"}), T0)
    assert refs(state) == ["outer", "inner", "b1"]
    state = worker_result(state, "b1", T0 + 1)
    state, _ = step(state, T0 + 2)
    assert refs(state)[-1] == "after"


def test_decision_falls_back_to_default_for_an_empty_case_and_keeps_only_case_in_its_input():
    decision = {
        "name": "decide",
        "taskReferenceName": "dec",
        "type": "DECISION",
        "caseValueParam": "kind",
        "inputParameters": {"kind": "${workflow.input.kind}"},
        "decisionCases": {"x": [], "y": [{"name": "y", "taskReferenceName": "y1"}]},
        "defaultCase": [{"name": "d", "taskReferenceName": "d1"}],
    }
    state, _ = step(new_workflow(definition([decision]), {"kind": "x"}), T0)
    assert refs(state) == ["dec", "d1"]
    dec = current(state, "dec")
    assert dec.input_data == {"case": "x", "hasChildren": "true"}
    assert dec.output_data == {"caseOutput": ["x"]}


def test_decision_case_expression():
    decision = {
        "name": "decide",
        "taskReferenceName": "dec",
        "type": "DECISION",
        "caseExpression": "$.n > 1 ? 'y' : 'x'",
        "inputParameters": {"n": "${workflow.input.n}"},
        "decisionCases": {"y": [{"name": "y", "taskReferenceName": "y1"}]},
    }
    state, _ = step(new_workflow(definition([decision]), {"n": 2}), T0)
    assert refs(state) == ["dec", "y1"]
