"""JSON_JQ_TRANSFORM through decide(): result/resultList, failures and retries."""

from __future__ import annotations

import pytest

from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import (
    AD_HOC_SYSTEM_DEF,
    T0,
    current,
    definition,
    new_workflow,
    step,
)

AFTER = {
    "name": "after",
    "taskReferenceName": "after_ref",
    "inputParameters": {"got": "${jq_ref.output.result}"},
}


def jq(query: str | None, **inputs) -> dict:
    parameters = inputs if query is None else {"queryExpression": query, **inputs}
    return {
        "name": "jq_task",
        "taskReferenceName": "jq_ref",
        "type": "JSON_JQ_TRANSFORM",
        "inputParameters": parameters,
    }


def run(task: dict, workflow_input: dict | None = None, task_def: dict | None = None):
    defn = definition([task, AFTER], {"jq_task": task_def or AD_HOC_SYSTEM_DEF})
    return step(new_workflow(defn, workflow_input), T0)


def attempts(state) -> list:
    return [t for t in state.workflow.tasks if t.reference_task_name == "jq_ref"]


def test_the_first_value_is_the_result_and_the_next_task_reads_it():
    query = "{name: .user.name, n: (.items | length)}"
    state, _ = run(jq(query, user="${workflow.input.user}", items=[1, 2, 3]), {"user": {"name": "ada"}})

    task = current(state, "jq_ref")
    assert task.status == TaskStatus.COMPLETED
    assert (task.task_type, task.task_def_name) == ("JSON_JQ_TRANSFORM", "jq_task")
    assert task.output_data == {"result": {"name": "ada", "n": 3}, "resultList": [{"name": "ada", "n": 3}]}
    assert current(state, "after_ref").input_data == {"got": {"name": "ada", "n": 3}}


def test_several_values_all_go_to_the_result_list():
    state, _ = run(jq(".items[]", items=["a", "b"]))

    assert current(state, "jq_ref").output_data == {"result": "a", "resultList": ["a", "b"]}


def test_no_value_gives_a_null_result_and_an_empty_list():
    state, _ = run(jq("empty"))

    assert current(state, "jq_ref").output_data == {"result": None, "resultList": []}


def test_the_program_reads_the_whole_input_including_its_own_query():
    state, _ = run(jq(".queryExpression"))

    assert current(state, "jq_ref").output_data["result"] == ".queryExpression"


def test_a_missing_query_fails_the_task_with_only_a_reason():
    state, _ = run(jq(None, x=1))

    (task,) = attempts(state)
    assert task.status == TaskStatus.FAILED
    assert task.reason_for_incompletion == "Missing 'queryExpression' in input parameters"
    assert task.output_data == {}
    assert state.workflow.status == WorkflowStatus.FAILED


@pytest.mark.parametrize("query", ["WRONG(", ".a + 1"])
def test_compile_and_runtime_errors_fail_the_task_with_the_error_in_the_output(query):
    state, _ = run(jq(query, a="text"))

    (task,) = attempts(state)
    assert task.status == TaskStatus.FAILED
    assert task.reason_for_incompletion
    assert task.output_data == {"error": task.reason_for_incompletion}
    assert state.workflow.status == WorkflowStatus.FAILED


def test_a_failing_transform_is_retried_per_its_task_def():
    state, _ = run(jq("WRONG("), task_def={"retryCount": 1, "retryDelaySeconds": 0})

    first, second = attempts(state)
    assert (first.status, first.retried) == (TaskStatus.FAILED, True)
    assert (second.status, second.retry_count, second.retried_task_id) == (
        TaskStatus.FAILED,
        1,
        first.task_id,
    )
    assert state.workflow.status == WorkflowStatus.FAILED
