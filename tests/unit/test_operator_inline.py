"""INLINE and LAMBDA through decide(): results, evaluators, failures, and which failures are retried."""

from __future__ import annotations

import pytest

from batonflow.engine.operators.inline import InlineOperator, LambdaOperator
from batonflow.engine.scripting import DEFAULT_TIME_LIMIT_MS
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import (
    AD_HOC_SYSTEM_DEF,
    T0,
    current,
    definition,
    new_workflow,
    register_operators,
    step,
)

FAST_LIMIT_MS = 100
AFTER = {
    "name": "after",
    "taskReferenceName": "after_ref",
    "inputParameters": {"got": "${script_ref.output.result}"},
}
EMPTY_EXPRESSION = (
    "Empty 'expression' in Inline task's input parameters. A non-empty String value must be provided."
)
EMPTY_EVALUATOR = (
    "Empty 'evaluatorType' in INLINE task's input parameters. A non-empty String value must be provided."
)
EMPTY_LAMBDA = (
    "Empty 'scriptExpression' in Lambda task's input parameters. A non-empty String value must be provided."
)


def inline(**inputs) -> dict:
    return {
        "name": "inline_task",
        "taskReferenceName": "script_ref",
        "type": "INLINE",
        "inputParameters": inputs,
    }


def lambda_(script: str, **inputs) -> dict:
    return {
        "name": "lambda_task",
        "taskReferenceName": "script_ref",
        "type": "LAMBDA",
        "inputParameters": {"scriptExpression": script, **inputs},
    }


def run(task: dict, workflow_input: dict | None = None, task_def: dict | None = None):
    defn = definition([task, AFTER], {task["name"]: task_def or AD_HOC_SYSTEM_DEF})
    return step(new_workflow(defn, workflow_input), T0)


def attempts(state) -> list:
    return [t for t in state.workflow.tasks if t.reference_task_name == "script_ref"]


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    register_operators(
        monkeypatch, InlineOperator(time_limit_ms=FAST_LIMIT_MS), LambdaOperator(time_limit_ms=FAST_LIMIT_MS)
    )


# -- INLINE --------------------------------------------------------------------------------------------


def test_inline_defaults_to_javascript_and_the_next_task_reads_the_result():
    state, _ = run(inline(a="${workflow.input.a}", b=2, expression="$.a + $.b"), {"a": 40})

    task = current(state, "script_ref")
    assert task.status == TaskStatus.COMPLETED
    assert (task.task_type, task.task_def_name) == ("INLINE", "inline_task")
    assert task.output_data == {"result": 42}
    assert task.input_data == {"a": 40, "b": 2, "expression": "$.a + $.b"}
    assert current(state, "after_ref").input_data == {"got": 42}


@pytest.mark.parametrize("evaluator", ["javascript", "graaljs"])
def test_inline_script_sees_the_whole_input_and_returns_maps_and_lists(evaluator):
    expression = (
        "(function(){ return {type: $.evaluatorType, items: $.items.map(function(i){ return i * 2; })}; })()"
    )
    state, _ = run(inline(evaluatorType=evaluator, expression=expression, items=[1, 2]))

    assert current(state, "script_ref").output_data == {"result": {"type": evaluator, "items": [2, 4]}}


def test_inline_value_param_returns_the_named_input():
    state, _ = run(inline(evaluatorType="value-param", expression="pick", pick={"k": [1]}))

    assert current(state, "script_ref").output_data == {"result": {"k": [1]}}


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        ({"expression": "  "}, EMPTY_EXPRESSION),
        ({"evaluatorType": "javascript"}, EMPTY_EXPRESSION),
        ({"evaluatorType": "", "expression": "1"}, EMPTY_EVALUATOR),
        ({"evaluatorType": "groovy", "expression": "1"}, "Unknown evaluator 'groovy' in INLINE task."),
    ],
)
def test_inline_input_errors_fail_terminally_without_retry(inputs, reason):
    state, _ = run(inline(**inputs), task_def={"retryCount": 3})

    (task,) = attempts(state)
    assert task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert task.reason_for_incompletion == reason
    assert task.output_data == {"error": reason}
    assert state.workflow.status == WorkflowStatus.FAILED
    assert (
        state.workflow.reason_for_incompletion
        == f"Task {task.task_id} failed with status: FAILED and reason: '{reason}'"
    )


@pytest.mark.parametrize("expression", ["$.missing.deeper", "this is not javascript"])
def test_inline_script_errors_fail_terminally_with_the_error_in_the_output(expression):
    state, _ = run(inline(expression=expression), task_def={"retryCount": 3})

    (task,) = attempts(state)
    assert task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert task.reason_for_incompletion
    assert task.output_data == {"error": task.reason_for_incompletion}
    assert state.workflow.status == WorkflowStatus.FAILED


@pytest.mark.parametrize(
    ("task", "status"),
    [
        (inline(expression="while (true) {}"), TaskStatus.FAILED_WITH_TERMINAL_ERROR),
        (lambda_("for (;;) {}"), TaskStatus.FAILED),
    ],
)
def test_scripts_are_stopped_at_the_operators_time_limit(task, status):
    state, _ = run(task)

    (attempt,) = attempts(state)
    assert attempt.status == status
    assert f"{FAST_LIMIT_MS} ms" in attempt.reason_for_incompletion


def test_the_default_time_limit_is_conductors():
    assert InlineOperator().time_limit_ms == LambdaOperator().time_limit_ms == DEFAULT_TIME_LIMIT_MS


# -- LAMBDA --------------------------------------------------------------------------------------------


def test_lambda_returns_what_its_function_body_returns():
    script = "if ($.input.a == 1) { return {testvalue: true}; } else { return {testvalue: false}; }"
    state, _ = run(lambda_(script, input="${workflow.input}"), {"a": 1})

    task = current(state, "script_ref")
    assert task.status == TaskStatus.COMPLETED
    assert (task.task_type, task.task_def_name) == ("LAMBDA", "lambda_task")
    assert task.output_data == {"result": {"testvalue": True}}
    assert current(state, "after_ref").input_data == {"got": {"testvalue": True}}


def test_a_blank_lambda_fails_with_only_a_reason():
    state, _ = run(lambda_(" "))

    (task,) = attempts(state)
    assert task.status == TaskStatus.FAILED
    assert task.reason_for_incompletion == EMPTY_LAMBDA
    assert task.output_data == {}
    assert state.workflow.status == WorkflowStatus.FAILED


def test_a_lambda_script_error_fails_with_the_error_in_the_output():
    state, _ = run(lambda_("return $.missing.deeper;"))

    (task,) = attempts(state)
    assert task.status == TaskStatus.FAILED
    assert task.reason_for_incompletion
    assert task.output_data == {"error": task.reason_for_incompletion}
    assert state.workflow.status == WorkflowStatus.FAILED


def test_a_failing_lambda_is_retried_per_its_task_def():
    state, _ = run(lambda_("return $.missing.deeper;"), task_def={"retryCount": 1, "retryDelaySeconds": 0})

    first, second = attempts(state)
    assert (first.status, first.retried, first.retry_count) == (TaskStatus.FAILED, True, 0)
    assert (second.status, second.retried, second.retry_count) == (TaskStatus.FAILED, False, 1)
    assert second.retried_task_id == first.task_id
    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.reason_for_incompletion.startswith(f"Task {second.task_id} failed")
