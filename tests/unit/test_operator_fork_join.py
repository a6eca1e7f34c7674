"""FORK_JOIN, JOIN, FORK_JOIN_DYNAMIC and EXCLUSIVE_JOIN through decide()."""

from __future__ import annotations

import dataclasses

import pytest

from batonflow.engine.decider import decide
from batonflow.engine.state import NeedTaskDefs
from batonflow.model import TaskDef, TaskStatus, WorkflowStatus
from tests.support.engine import T0, current, definition, new_workflow, step, worker_result

FORK = {
    "name": "fork",
    "taskReferenceName": "fork",
    "type": "FORK_JOIN",
    "forkTasks": [
        [{"name": "left", "taskReferenceName": "l1"}, {"name": "left", "taskReferenceName": "l2"}],
        [{"name": "right", "taskReferenceName": "r1"}],
    ],
}
JOIN = {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["l2", "r1"]}
AFTER = {"name": "after", "taskReferenceName": "after", "inputParameters": {"joined": "${join.output}"}}


def statuses(state) -> dict[str, TaskStatus]:
    return {t.reference_task_name: t.status for t in state.workflow.tasks}


def test_fork_runs_branches_and_join_collects_their_outputs():
    state, _ = step(new_workflow(definition([FORK, JOIN, AFTER])), T0)
    assert statuses(state) == {
        "fork": TaskStatus.COMPLETED,
        "l1": TaskStatus.SCHEDULED,
        "r1": TaskStatus.SCHEDULED,
        "join": TaskStatus.IN_PROGRESS,
    }
    fork = current(state, "fork")
    assert fork.task_type == "FORK" and fork.task_def_name == "FORK"
    assert current(state, "join").input_data == {"joinOn": ["l2", "r1"]}

    state = worker_result(state, "r1", T0 + 1, output={"r": 1})
    state, _ = step(state, T0 + 2)
    assert current(state, "join").status == TaskStatus.IN_PROGRESS
    state = worker_result(state, "l1", T0 + 3)
    state, _ = step(state, T0 + 4)
    state = worker_result(state, "l2", T0 + 5, output={"l": 2})
    state, _ = step(state, T0 + 6)
    join = current(state, "join")
    assert join.status == TaskStatus.COMPLETED
    assert join.output_data == {"l2": {"l": 2}, "r1": {"r": 1}}
    assert current(state, "after").input_data == {"joined": {"l2": {"l": 2}, "r1": {"r": 1}}}


def test_a_fork_not_followed_by_a_join_fails_the_workflow():
    state, _ = step(new_workflow(definition([FORK, AFTER])), T0)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert "not followed by a join" in state.workflow.reason_for_incompletion


def test_a_failed_branch_fails_the_workflow_and_cancels_the_rest():
    state, _ = step(new_workflow(definition([FORK, JOIN], {"right": {"retryCount": 0}})), T0)
    state = worker_result(state, "r1", T0 + 1, status=TaskStatus.FAILED, reason="right broke")
    state, _ = step(state, T0 + 2)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert statuses(state)["l1"] == TaskStatus.CANCELED
    assert statuses(state)["join"] == TaskStatus.CANCELED


def test_an_optional_branch_failure_makes_the_join_completed_with_errors():
    fork = {
        **FORK,
        "forkTasks": [FORK["forkTasks"][0], [{"name": "right", "taskReferenceName": "r1", "optional": True}]],
    }
    state, _ = step(new_workflow(definition([fork, JOIN], {"right": {"retryCount": 0}})), T0)
    state = worker_result(state, "r1", T0 + 1, status=TaskStatus.FAILED, reason="meh")
    state, _ = step(state, T0 + 2)
    for ref in ("l1", "l2"):
        state = worker_result(state, ref, T0 + 3)
        state, _ = step(state, T0 + 4)
    assert current(state, "join").status == TaskStatus.COMPLETED_WITH_ERRORS
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_a_permissive_branch_failure_fails_the_join_once_all_branches_finished():
    fork = {
        **FORK,
        "forkTasks": [
            FORK["forkTasks"][0],
            [{"name": "right", "taskReferenceName": "r1", "permissive": True}],
        ],
    }
    state, _ = step(new_workflow(definition([fork, JOIN], {"right": {"retryCount": 0}})), T0)
    state = worker_result(state, "r1", T0 + 1, status=TaskStatus.FAILED, reason="meh")
    state, _ = step(state, T0 + 2)
    assert current(state, "join").status == TaskStatus.IN_PROGRESS
    for ref in ("l1", "l2"):
        state = worker_result(state, ref, T0 + 3)
        state, _ = step(state, T0 + 4)
    assert current(state, "join").status == TaskStatus.FAILED
    assert current(state, "join").reason_for_incompletion == "meh"
    assert state.workflow.status == WorkflowStatus.FAILED


def test_a_join_waiting_for_a_never_scheduled_task_fails_instead_of_hanging():
    join = {**JOIN, "joinOn": ["l2", "nowhere"]}
    state, _ = step(new_workflow(definition([FORK, join])), T0)
    for ref in ("r1", "l1", "l2"):
        state = worker_result(state, ref, T0 + 1)
        state, _ = step(state, T0 + 2)
    assert current(state, "join").status == TaskStatus.FAILED
    assert "never scheduled: nowhere" in current(state, "join").reason_for_incompletion
    assert state.workflow.status == WorkflowStatus.FAILED


def test_nested_forks():
    inner = {
        "name": "fork",
        "taskReferenceName": "inner_fork",
        "type": "FORK_JOIN",
        "forkTasks": [[{"name": "x", "taskReferenceName": "x"}], [{"name": "y", "taskReferenceName": "y"}]],
    }
    inner_join = {"name": "join", "taskReferenceName": "inner_join", "type": "JOIN", "joinOn": ["x", "y"]}
    outer = {
        "name": "fork",
        "taskReferenceName": "outer",
        "type": "FORK_JOIN",
        "forkTasks": [[inner, inner_join], [{"name": "z", "taskReferenceName": "z"}]],
    }
    outer_join = {
        "name": "join",
        "taskReferenceName": "outer_join",
        "type": "JOIN",
        "joinOn": ["inner_join", "z"],
    }
    state, _ = step(new_workflow(definition([outer, outer_join])), T0)
    for ref in ("x", "y", "z"):
        state = worker_result(state, ref, T0 + 1, output={ref: 1})
        state, _ = step(state, T0 + 2)
    assert current(state, "outer_join").output_data == {
        "inner_join": {"x": {"x": 1}, "y": {"y": 1}},
        "z": {"z": 1},
    }
    assert state.workflow.status == WorkflowStatus.COMPLETED


DYNAMIC = {
    "name": "dyn",
    "taskReferenceName": "dyn",
    "type": "FORK_JOIN_DYNAMIC",
    "inputParameters": {"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"},
    "dynamicForkTasksParam": "tasks",
    "dynamicForkTasksInputParamName": "inputs",
}
DYNAMIC_JOIN = {"name": "join", "taskReferenceName": "dyn_join", "type": "JOIN"}


def test_dynamic_fork_with_a_task_list_and_an_input_map():
    tasks = [{"name": "work", "taskReferenceName": f"w{i}"} for i in range(3)]
    inputs = {f"w{i}": {"i": i} for i in range(3)}
    state, _ = step(new_workflow(definition([DYNAMIC, DYNAMIC_JOIN]), {"tasks": tasks, "inputs": inputs}), T0)
    assert [current(state, f"w{i}").input_data for i in range(3)] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert current(state, "dyn").input_data["forkedTasks"] == ["w0", "w1", "w2"]
    assert current(state, "dyn_join").input_data["joinOn"] == ["w0", "w1", "w2"]
    for i in range(3):
        state = worker_result(state, f"w{i}", T0 + 1, output={"done": i})
        state, _ = step(state, T0 + 2)
    assert current(state, "dyn_join").output_data == {f"w{i}": {"done": i} for i in range(3)}
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_dynamic_fork_with_fork_task_inputs():
    dyn = {
        "name": "dyn",
        "taskReferenceName": "dyn",
        "type": "FORK_JOIN_DYNAMIC",
        "inputParameters": {"forkTaskName": "work", "forkTaskInputs": "${workflow.input.items}"},
    }
    state, _ = step(new_workflow(definition([dyn, DYNAMIC_JOIN]), {"items": [{"a": 1}, 7]}), T0)
    assert current(state, "_work_0").input_data == {"a": 1, "__index": 0}
    assert current(state, "_work_1").input_data == {"input": 7, "__index": 1}


def test_dynamic_fork_whose_input_is_not_a_list_fails_the_workflow():
    state, _ = step(new_workflow(definition([DYNAMIC, DYNAMIC_JOIN]), {"tasks": "nope", "inputs": {}}), T0)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert "not a list" in state.workflow.reason_for_incompletion


def test_dynamic_fork_whose_inputs_are_not_a_map_fails_the_workflow():
    tasks = [{"name": "work", "taskReferenceName": "w0"}]
    state, _ = step(new_workflow(definition([DYNAMIC, DYNAMIC_JOIN]), {"tasks": tasks, "inputs": []}), T0)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert "is not a map" in state.workflow.reason_for_incompletion


def test_an_empty_dynamic_fork_completes_its_join_at_once():
    state, _ = step(new_workflow(definition([DYNAMIC, DYNAMIC_JOIN]), {"tasks": [], "inputs": {}}), T0)
    assert current(state, "dyn_join").status == TaskStatus.COMPLETED
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_exclusive_join_takes_the_output_of_the_branch_that_ran():
    decision = {
        "name": "decide",
        "taskReferenceName": "dec",
        "type": "DECISION",
        "caseValueParam": "kind",
        "inputParameters": {"kind": "${workflow.input.kind}"},
        "decisionCases": {
            "a": [{"name": "a", "taskReferenceName": "a1"}],
            "b": [{"name": "b", "taskReferenceName": "b1"}],
        },
    }
    exclusive = {"name": "ej", "taskReferenceName": "ej", "type": "EXCLUSIVE_JOIN", "joinOn": ["a1", "b1"]}
    state, _ = step(new_workflow(definition([decision, exclusive]), {"kind": "b"}), T0)
    state = worker_result(state, "b1", T0 + 1, output={"from": "b"})
    state, _ = step(state, T0 + 2)
    assert current(state, "ej").status == TaskStatus.COMPLETED
    assert current(state, "ej").output_data == {"from": "b"}
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_dynamically_forked_tasks_take_their_registered_definition():
    fork = {
        "name": "fork",
        "taskReferenceName": "fork",
        "type": "FORK_JOIN_DYNAMIC",
        "inputParameters": {"forkTaskName": "leaf", "forkTaskInputs": [{"n": 1}, {"n": 2}]},
    }
    state = new_workflow(definition([fork, {"name": "join", "taskReferenceName": "join", "type": "JOIN"}]))

    with pytest.raises(NeedTaskDefs) as asked:  # a registry is at hand: the decide asks for the name
        decide(dataclasses.replace(state, registry={}), T0)
    assert asked.value.names == {"leaf"}

    leaf = TaskDef(name="leaf", retry_count=2, response_timeout_seconds=30)
    plan = decide(dataclasses.replace(state, registry={"leaf": leaf}), T0)
    forked = [t for t in plan.new_tasks if t.task_def_name == "leaf"]
    assert len(forked) == 2 and all(t.task_definition == leaf for t in forked)

    unregistered = decide(dataclasses.replace(state, registry={"leaf": None}), T0)
    assert all(t.task_definition is None for t in unregistered.new_tasks if t.task_def_name == "leaf")


def test_a_failed_later_task_of_a_branch_is_retried_and_the_join_waits_for_the_retry():
    """The JOIN is scheduled before a branch's second task: the failed attempt's retry must exist by the
    time the JOIN looks, or the JOIN fails the workflow although a retry was due (found by baton chaos)."""
    defn = definition([FORK, JOIN, AFTER], task_defs={"left": {"retryCount": 1, "retryDelaySeconds": 0}})
    state, _ = step(new_workflow(defn), T0)
    state, _ = step(worker_result(state, "l1", T0 + 1), T0 + 1)
    state, _ = step(worker_result(state, "r1", T0 + 2), T0 + 2)

    state, _ = step(worker_result(state, "l2", T0 + 3, status=TaskStatus.FAILED, reason="flaky"), T0 + 3)

    assert state.workflow.status == WorkflowStatus.RUNNING
    assert (current(state, "l2").retry_count, current(state, "l2").status) == (1, TaskStatus.SCHEDULED)
    assert current(state, "join").status == TaskStatus.IN_PROGRESS
    state, _ = step(worker_result(state, "l2", T0 + 4), T0 + 4)
    assert current(state, "join").status == TaskStatus.COMPLETED
