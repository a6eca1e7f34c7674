"""DYNAMIC through decide(): a worker task named by its input, with the placeholder's TaskDef."""

from __future__ import annotations

from batonflow.model import TaskStatus, TaskType, WorkflowStatus
from tests.support.engine import (
    T0,
    current,
    definition,
    new_workflow,
    step,
    worker_poll,
    worker_result,
)

DYNAMIC = {
    "name": "dynamic_placeholder",
    "taskReferenceName": "dyn_ref",
    "type": "DYNAMIC",
    "dynamicTaskNameParam": "taskToExecute",
    "inputParameters": {"taskToExecute": "${workflow.input.task}", "order": "${workflow.input.order}"},
}
AFTER = {
    "name": "after",
    "taskReferenceName": "after_ref",
    "inputParameters": {"shipped": "${dyn_ref.output.id}"},
}
PLACEHOLDER_DEF = {"retryCount": 1, "retryDelaySeconds": 5, "responseTimeoutSeconds": 30}


def start(workflow_input: dict, task_def: dict | None = None):
    defn = definition([DYNAMIC, AFTER], {"dynamic_placeholder": task_def or PLACEHOLDER_DEF})
    return step(new_workflow(defn, workflow_input), T0)


def test_the_task_is_a_worker_task_of_the_resolved_name():
    state, plan = start({"task": "ship_via_fedex", "order": 9})

    task = current(state, "dyn_ref")
    assert task.status == TaskStatus.SCHEDULED
    assert (task.task_type, task.task_def_name) == ("ship_via_fedex", "ship_via_fedex")
    assert task.input_data == {"taskToExecute": "ship_via_fedex", "order": 9}
    assert task.workflow_task.name == "ship_via_fedex"
    assert task.workflow_task.type == TaskType.DYNAMIC
    assert [(d.task.task_type, d.delay_seconds) for d in plan.dispatches] == [("ship_via_fedex", 0)]


def test_the_placeholders_task_def_applies():
    state, _ = start({"task": "ship_via_fedex"})

    task = current(state, "dyn_ref")
    assert task.task_definition.name == "dynamic_placeholder"
    assert task.response_timeout_seconds == 30


def test_its_output_feeds_the_next_task():
    state, _ = start({"task": "ship_via_ups"})
    state = worker_result(state, "dyn_ref", T0 + 1, output={"id": "parcel-1"})
    state, _ = step(state, T0 + 2)

    assert current(state, "after_ref").input_data == {"shipped": "parcel-1"}


def test_a_failed_attempt_is_retried_on_the_same_queue():
    state, _ = start({"task": "ship_via_ups"})
    state = worker_result(state, "dyn_ref", T0 + 1, status=TaskStatus.FAILED, reason="truck broke")
    state, plan = step(state, T0 + 2)

    retry = current(state, "dyn_ref")
    assert retry.retry_count == 1 and retry.status == TaskStatus.SCHEDULED
    assert (retry.task_type, retry.task_def_name, retry.workflow_task.name) == ("ship_via_ups",) * 3
    assert [(d.task.task_id, d.delay_seconds) for d in plan.dispatches] == [(retry.task_id, 5)]

    state = worker_result(state, "dyn_ref", T0 + 3, status=TaskStatus.FAILED, reason="again")
    state, _ = step(state, T0 + 4)
    assert state.workflow.status == WorkflowStatus.FAILED


def test_the_response_timeout_of_the_placeholder_def_times_the_attempt_out():
    state, _ = start({"task": "ship_via_ups"}, {"retryCount": 0, "responseTimeoutSeconds": 30})
    state = worker_poll(state, "dyn_ref", T0 + 1_000)
    state, _ = step(state, T0 + 31_000)

    assert current(state, "dyn_ref").status == TaskStatus.TIMED_OUT
    assert state.workflow.status == WorkflowStatus.TIMED_OUT


def test_a_non_string_name_is_used_as_its_java_text():
    state, _ = start({"task": 7})

    assert current(state, "dyn_ref").task_type == "7"


def test_a_missing_name_fails_the_workflow():
    state, plan = start({"order": 9})

    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.reason_for_incompletion == (
        "Cannot map a dynamic task based on the parameter and input. "
        "Parameter= taskToExecute, input= {taskToExecute=null, order=9}"
    )
    assert state.workflow.tasks == []
    assert plan.dispatches == ()
