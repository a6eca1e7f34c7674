"""TERMINATE through decide(): the workflow ends in the same decide, with the task's status and output."""

from __future__ import annotations

from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import (
    AD_HOC_SYSTEM_DEF,
    T0,
    current,
    definition,
    new_workflow,
    step,
    worker_poll,
    worker_result,
)

FIRST = {"name": "first", "taskReferenceName": "first_ref"}
NEVER = {"name": "never", "taskReferenceName": "never_ref"}
OUTPUT_PARAMETERS = {"o1": "${first_ref.output}", "o2": "${never_ref.output}"}


def terminate(status: str, ref: str = "terminate_ref", **inputs) -> dict:
    return {
        "name": "terminate",
        "taskReferenceName": ref,
        "type": "TERMINATE",
        "inputParameters": {"terminationStatus": status, **inputs},
    }


def run(tasks: list[dict], task_defs: dict | None = None, first_output: dict | None = None):
    """Start, let FIRST complete with ``first_output``, decide: the TERMINATE runs in that decide."""
    defn = definition(
        tasks, {"terminate": AD_HOC_SYSTEM_DEF, **(task_defs or {})}, outputParameters=OUTPUT_PARAMETERS
    )
    state, _ = step(new_workflow(defn), T0)
    state = worker_result(state, "first_ref", T0 + 10, output=first_output or {})
    return step(state, T0 + 20)


def test_completed_ends_the_workflow_with_the_workflow_output_replacing_output_parameters():
    tasks = [FIRST, terminate("COMPLETED", workflowOutput="${first_ref.output}"), NEVER]
    state, plan = run(tasks, first_output={"result": {"testvalue": True}})

    task = current(state, "terminate_ref")
    assert task.status == TaskStatus.COMPLETED
    assert (task.task_type, task.task_def_name) == ("TERMINATE", "terminate")
    assert task.output_data == {"result": {"testvalue": True}}
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"result": {"testvalue": True}}
    assert (
        state.workflow.reason_for_incompletion == f"Workflow is COMPLETED by TERMINATE task: {task.task_id}"
    )
    assert state.workflow.end_time == T0 + 20
    assert current(state, "first_ref").status == TaskStatus.COMPLETED
    assert [t.reference_task_name for t in state.workflow.tasks] == ["first_ref", "terminate_ref"]
    assert plan.wake_at is None and plan.dispatches == ()


def test_failed_uses_the_termination_reason_and_wraps_a_non_map_output():
    tasks = [
        FIRST,
        terminate(
            "FAILED",
            terminationReason="bad ${first_ref.output.why}",
            workflowOutput="${first_ref.output.why}",
        ),
        NEVER,
    ]
    state, _ = run(tasks, first_output={"why": "input"})

    assert current(state, "terminate_ref").output_data == {"output": "input"}
    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.reason_for_incompletion == "bad input"
    assert state.workflow.output == {"output": "input"}
    assert state.workflow.failed_reference_task_names == []


def test_terminated_without_workflow_output_gives_an_empty_output_and_the_default_reason():
    state, _ = run([FIRST, terminate("TERMINATED", terminationReason="  "), NEVER], first_output={"x": 1})

    task = current(state, "terminate_ref")
    assert task.output_data == {}
    assert state.workflow.status == WorkflowStatus.TERMINATED
    assert state.workflow.output == {}
    assert (
        state.workflow.reason_for_incompletion == f"Workflow is TERMINATED by TERMINATE task: {task.task_id}"
    )


def test_a_terminate_first_in_the_workflow_ends_it_when_started():
    defn = definition([terminate("COMPLETED", workflowOutput={"done": "${workflow.input.v}"}), NEVER])
    state, _ = step(new_workflow(defn, {"v": 7}), T0)

    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"done": 7}
    assert len(state.workflow.tasks) == 1


def test_an_invalid_status_fails_the_task_and_the_normal_failure_path_fails_the_workflow():
    state, _ = run([FIRST, terminate("DONE"), NEVER])

    task = current(state, "terminate_ref")
    assert task.status == TaskStatus.FAILED
    assert task.reason_for_incompletion == "given termination status is not valid"
    assert task.output_data == {}
    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.reason_for_incompletion == (
        f"Task {task.task_id} failed with status: FAILED and reason: 'given termination status is not valid'"
    )
    assert state.workflow.failed_reference_task_names == ["terminate_ref"]
    assert state.workflow.output == {"o1": {}, "o2": None}


def test_an_invalid_status_is_retried_when_the_task_def_allows_it():
    state, _ = run(
        [FIRST, terminate("${first_ref.output.status}"), NEVER],
        {"terminate": {"retryCount": 1}},
        {"status": "x"},
    )

    attempts = [t for t in state.workflow.tasks if t.reference_task_name == "terminate_ref"]
    assert [(t.retry_count, t.status, t.retried) for t in attempts] == [
        (0, TaskStatus.FAILED, True),
        (1, TaskStatus.FAILED, False),
    ]
    assert attempts[1].retried_task_id == attempts[0].task_id
    assert state.workflow.status == WorkflowStatus.FAILED


def test_a_terminate_in_a_fork_branch_cancels_the_tasks_still_running():
    fork = {
        "name": "fork",
        "taskReferenceName": "fork_ref",
        "type": "FORK_JOIN",
        "forkTasks": [
            [{"name": "slow", "taskReferenceName": "slow_ref"}],
            [FIRST, terminate("COMPLETED", workflowOutput={"winner": "${first_ref.output.id}"})],
        ],
    }
    join = {
        "name": "join",
        "taskReferenceName": "join_ref",
        "type": "JOIN",
        "joinOn": ["slow_ref", "terminate_ref"],
    }
    state, _ = step(new_workflow(definition([fork, join, NEVER])), T0)
    state = worker_poll(state, "slow_ref", T0 + 5)
    state = worker_result(state, "first_ref", T0 + 10, output={"id": 42})
    state, plan = step(state, T0 + 20)

    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"winner": 42}
    assert current(state, "slow_ref").status == TaskStatus.CANCELED
    assert current(state, "join_ref").status == TaskStatus.CANCELED
    cancelled = {c.task.reference_task_name: c.expected_status for c in plan.task_changes}
    assert cancelled == {"slow_ref": TaskStatus.IN_PROGRESS, "join_ref": TaskStatus.IN_PROGRESS}


def test_a_terminate_in_a_switch_branch_ends_the_workflow():
    switch = {
        "name": "switch",
        "taskReferenceName": "switch_ref",
        "type": "SWITCH",
        "evaluatorType": "value-param",
        "expression": "kind",
        "inputParameters": {"kind": "${workflow.input.kind}"},
        "decisionCases": {"stop": [terminate("FAILED", terminationReason="stopped")]},
        "defaultCase": [NEVER],
    }
    state, _ = step(new_workflow(definition([switch, FIRST]), {"kind": "stop"}), T0)

    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.reason_for_incompletion == "stopped"
    assert [t.reference_task_name for t in state.workflow.tasks] == ["switch_ref", "terminate_ref"]
