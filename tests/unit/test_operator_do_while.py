"""DO_WHILE through decide(): iterations, __N references, outputs by iteration, nesting, failures."""

from __future__ import annotations

from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, current, definition, new_workflow, step, worker_result


def loop(condition: str, body: list[dict], **extra) -> dict:
    return {
        "name": "loop",
        "taskReferenceName": "loop",
        "type": "DO_WHILE",
        "loopCondition": condition,
        "loopOver": body,
        "inputParameters": {"max": "${workflow.input.max}"},
        **extra,
    }


BODY = [
    {"name": "work", "taskReferenceName": "work", "inputParameters": {"i": "${loop.output.iteration}"}},
]
AFTER = {"name": "after", "taskReferenceName": "after", "inputParameters": {"loop": "${loop.output}"}}


def test_iterates_while_the_condition_holds_then_continues():
    defn = definition([loop("$.loop['iteration'] < $.max", BODY), AFTER])
    state, _ = step(new_workflow(defn, {"max": 3}), T0)
    assert current(state, "loop").status == TaskStatus.IN_PROGRESS
    for n in (1, 2, 3):
        work = current(state, f"work__{n}")
        assert work.iteration == n and work.input_data == {"i": n}
        state = worker_result(state, f"work__{n}", T0 + n, output={"n": n})
        state, _ = step(state, T0 + n)
    loop_task = current(state, "loop")
    assert loop_task.status == TaskStatus.COMPLETED
    assert loop_task.iteration == 3
    assert loop_task.output_data == {
        "iteration": 3,
        "1": {"work": {"n": 1}},
        "2": {"work": {"n": 2}},
        "3": {"work": {"n": 3}},
    }
    assert [t.reference_task_name for t in state.workflow.tasks] == [
        "loop",
        "work__1",
        "work__2",
        "work__3",
        "after",
    ]
    assert current(state, "after").input_data["loop"]["iteration"] == 3


def test_the_condition_sees_body_outputs():
    defn = definition([loop("$.work['more'] == true", BODY)])
    state, _ = step(new_workflow(defn, {}), T0)
    state = worker_result(state, "work__1", T0 + 1, output={"more": True})
    state, _ = step(state, T0 + 2)
    state = worker_result(state, "work__2", T0 + 3, output={"more": False})
    state, _ = step(state, T0 + 4)
    assert current(state, "loop").output_data["iteration"] == 2
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_a_multi_task_body_with_a_switch_runs_whole_iterations():
    switch = {
        "name": "sw",
        "taskReferenceName": "sw",
        "type": "SWITCH",
        "evaluatorType": "javascript",
        "expression": "$.i % 2 == 0 ? 'even' : 'odd'",
        "inputParameters": {"i": "${loop.output.iteration}"},
        "decisionCases": {"even": [{"name": "even", "taskReferenceName": "even"}]},
        "defaultCase": [{"name": "odd", "taskReferenceName": "odd"}],
    }
    body = [*BODY, switch, {"name": "last", "taskReferenceName": "last"}]
    state, _ = step(new_workflow(definition([loop("$.loop['iteration'] < 2", body)]), {}), T0)
    for ref in ("work__1", "odd__1", "last__1", "work__2", "even__2", "last__2"):
        assert current(state, ref).status == TaskStatus.SCHEDULED, ref
        state = worker_result(state, ref, T0 + 1)
        state, _ = step(state, T0 + 2)
    assert current(state, "loop").status == TaskStatus.COMPLETED
    assert set(current(state, "loop").output_data["2"]) == {"work", "sw", "even", "last"}


def test_a_fork_inside_the_loop_body():
    fork = {
        "name": "fork",
        "taskReferenceName": "fork",
        "type": "FORK_JOIN",
        "forkTasks": [[{"name": "a", "taskReferenceName": "a"}], [{"name": "b", "taskReferenceName": "b"}]],
    }
    join = {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["a", "b"]}
    state, _ = step(new_workflow(definition([loop("$.loop['iteration'] < 2", [fork, join])]), {}), T0)
    for n in (1, 2):
        assert current(state, f"join__{n}").input_data == {"joinOn": [f"a__{n}", f"b__{n}"]}
        for ref in ("a", "b"):
            state = worker_result(state, f"{ref}__{n}", T0 + n, output={ref: n})
            state, _ = step(state, T0 + n)
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert current(state, "loop").output_data["2"]["join"] == {"a__2": {"a": 2}, "b__2": {"b": 2}}


def test_a_bad_condition_fails_the_loop_with_a_terminal_error():
    state, _ = step(new_workflow(definition([loop("$.nothing.here > 1", BODY)]), {}), T0)
    state = worker_result(state, "work__1", T0 + 1)
    state, _ = step(state, T0 + 2)
    assert current(state, "loop").status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert current(state, "loop").reason_for_incompletion.startswith("Unable to evaluate condition")
    assert state.workflow.status == WorkflowStatus.FAILED


def test_a_failed_body_task_fails_the_workflow():
    defn = definition([loop("true", BODY)], {"work": {"retryCount": 0}})
    state, _ = step(new_workflow(defn, {}), T0)
    state = worker_result(state, "work__1", T0 + 1, status=TaskStatus.FAILED, reason="bad")
    state, _ = step(state, T0 + 2)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert current(state, "loop").status == TaskStatus.CANCELED
