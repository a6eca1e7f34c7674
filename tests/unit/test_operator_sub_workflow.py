"""SUB_WORKFLOW and START_WORKFLOW through decide(): the plan asks for the start; the child's end is
reported into the task like a worker result."""

from __future__ import annotations

from batonflow.engine.operators.sub_workflow import workflow_id_for
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, current, definition, new_workflow, step, worker_result

SUB = {
    "name": "child_task",
    "taskReferenceName": "child",
    "type": "SUB_WORKFLOW",
    "subWorkflowParam": {"name": "child_flow", "version": 2},
    "inputParameters": {"who": "${workflow.input.who}"},
}


def test_a_sub_workflow_task_asks_for_its_child_and_waits_for_it():
    state, plan = step(new_workflow(definition([SUB]), {"who": "ada"}), T0)
    task = current(state, "child")
    assert task.status == TaskStatus.IN_PROGRESS
    assert task.sub_workflow_id == workflow_id_for(task.task_id)
    assert task.output_data == {"subWorkflowId": task.sub_workflow_id}
    assert task.input_data["subWorkflowName"] == "child_flow" and task.input_data["workflowInput"] == {
        "who": "ada"
    }
    [child] = plan.children
    assert child.is_child and child.workflow_id == task.sub_workflow_id
    assert child.request["name"] == "child_flow" and child.request["version"] == 2
    assert child.request["input"] == {"who": "ada"}
    assert plan.dispatches == ()

    again = step(state, T0 + 1)[1]
    assert again.children == ()  # deciding again asks for nothing new

    state = worker_result(state, "child", T0 + 2, output={"subWorkflowId": task.sub_workflow_id, "x": 1})
    state, _ = step(state, T0 + 3)
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"subWorkflowId": task.sub_workflow_id, "x": 1}


def test_a_failed_child_is_retried_with_a_new_child():
    state, _ = step(new_workflow(definition([{**SUB, "retryCount": 1}])), T0)
    first = current(state, "child")
    state = worker_result(state, "child", T0 + 1, status=TaskStatus.FAILED, reason="child failed")
    state, plan = step(state, T0 + 2)
    second = current(state, "child")
    assert second.retry_count == 1 and second.sub_workflow_id != first.sub_workflow_id
    assert [c.workflow_id for c in plan.children] == [second.sub_workflow_id]


def test_terminating_the_parent_cancels_the_sub_workflow_task():
    from batonflow.engine.lifecycle import terminate

    state, _ = step(new_workflow(definition([SUB])), T0)
    plan = terminate(state, "stop", T0 + 1)
    [change] = plan.task_changes
    assert change.task.status == TaskStatus.CANCELED and change.task.sub_workflow_id


def test_start_workflow_is_fire_and_forget():
    start = {
        "name": "starter",
        "taskReferenceName": "start",
        "type": "START_WORKFLOW",
        "inputParameters": {"startWorkflow": {"name": "other", "input": {"a": "${workflow.input.a}"}}},
    }
    state, plan = step(new_workflow(definition([start]), {"a": 5}), T0)
    [request] = plan.children
    assert not request.is_child
    assert request.request["name"] == "other" and request.request["input"] == {"a": 5}
    assert current(state, "start").status == TaskStatus.IN_PROGRESS


def test_start_workflow_without_a_request_fails():
    start = {"name": "starter", "taskReferenceName": "start", "type": "START_WORKFLOW"}
    state, _ = step(new_workflow(definition([start])), T0)
    assert current(state, "start").status == TaskStatus.FAILED
    assert state.workflow.status == WorkflowStatus.FAILED
