"""DO_WHILE through decide(): iterations, __N references, outputs by iteration, nesting, failures, list
iteration (``items``) and ``keepLastN``."""

from __future__ import annotations

import pytest

from batonflow.engine.decider import decide
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


# --- items: one iteration per list element ----------------------------------------------------------

ITEM_BODY = [
    {
        "name": "work",
        "taskReferenceName": "work",
        "inputParameters": {"item": "${loop.output.loopItem}", "index": "${loop.output.loopIndex}"},
    },
]
DONE = {"name": "done", "taskReferenceName": "done", "type": "NOOP"}


def items_loop(body: list[dict] = ITEM_BODY, **extra) -> dict:
    return {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "loopOver": body, **extra}


def run_items(state, references: list[str], now: int = T0):
    """Complete the worker tasks ``references`` in order, deciding after each."""
    for n, reference in enumerate(references, start=1):
        state = worker_result(
            state, reference, now + n, output={"seen": current(state, reference).input_data}
        )
        state, _ = step(state, now + n)
    return state


def test_items_run_the_body_once_per_element_with_loop_item_and_index():
    defn = definition([items_loop(items="${workflow.input.list}"), AFTER])
    state, _ = step(new_workflow(defn, {"list": ["a", {"b": 2}, 3]}), T0)
    assert current(state, "loop").output_data == {"iteration": 1, "loopIndex": 0, "loopItem": "a"}
    state = run_items(state, ["work__1", "work__2", "work__3"])

    assert [current(state, f"work__{n}").input_data for n in (1, 2, 3)] == [
        {"item": "a", "index": 0},
        {"item": {"b": 2}, "index": 1},
        {"item": 3, "index": 2},
    ]
    loop_task = current(state, "loop")
    assert loop_task.status == TaskStatus.COMPLETED and loop_task.iteration == 3
    assert loop_task.output_data == {
        "iteration": 3,
        "loopIndex": 2,
        "loopItem": 3,
        "1": {"work": {"seen": {"item": "a", "index": 0}}},
        "2": {"work": {"seen": {"item": {"b": 2}, "index": 1}}},
        "3": {"work": {"seen": {"item": 3, "index": 2}}},
    }
    assert current(state, "after").status == TaskStatus.SCHEDULED


def test_orkes_items_in_input_parameters_with_a_system_task_body():
    body = [
        {
            "name": "shout",
            "taskReferenceName": "shout",
            "type": "INLINE",
            "inputParameters": {
                "evaluatorType": "javascript",
                "expression": "$.item.toUpperCase() + $.index",
                "item": "${loop.output.loopItem}",
                "index": "${loop.output.loopIndex}",
            },
        }
    ]
    defn = definition([items_loop(body, inputParameters={"_items": "${workflow.input.words}"})])
    state, _ = step(new_workflow(defn, {"words": ["x", "y"]}), T0)

    assert state.workflow.status == WorkflowStatus.COMPLETED
    output = current(state, "loop").output_data
    assert (output["iteration"], output["1"], output["2"]) == (
        2,
        {"shout": {"result": "X0"}},
        {"shout": {"result": "Y1"}},
    )


def test_an_empty_item_list_completes_the_loop_at_once_with_iteration_zero():
    defn = definition([items_loop(items="${workflow.input.list}"), DONE])
    state, _ = step(new_workflow(defn, {"list": []}), T0)

    loop_task = current(state, "loop")
    assert (loop_task.status, loop_task.iteration, loop_task.output_data) == (
        TaskStatus.COMPLETED,
        0,
        {"iteration": 0},
    )
    assert [t.reference_task_name for t in state.workflow.tasks] == ["loop", "done"]
    assert state.workflow.status == WorkflowStatus.COMPLETED


@pytest.mark.parametrize(
    ("workflow_input", "found"),
    [({"list": "abc"}, "abc"), ({"list": {"k": 1}}, "{k=1}"), ({}, "null")],
)
def test_items_that_are_not_a_list_fail_the_loop_with_a_terminal_error(workflow_input: dict, found: str):
    defn = definition([items_loop(items="${workflow.input.list}"), DONE])
    state, _ = step(new_workflow(defn, workflow_input), T0)

    loop_task = current(state, "loop")
    assert loop_task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert loop_task.reason_for_incompletion == (
        f"items ${{workflow.input.list}} of DO_WHILE loop must be a list, but found {found}"
    )
    assert [t.reference_task_name for t in state.workflow.tasks] == ["loop"]
    assert state.workflow.status == WorkflowStatus.FAILED


def test_items_are_read_again_when_an_iteration_ends():
    keep = {"name": "keep", "taskReferenceName": "keep", "type": "SET_VARIABLE"}
    first = {**keep, "inputParameters": {"todo": [1, 2, 3]}}
    spoil = {**keep, "taskReferenceName": "spoil", "inputParameters": {"todo": "nothing"}}
    defn = definition([first, items_loop([*ITEM_BODY, spoil], items="${workflow.variables.todo}")])
    state, _ = step(new_workflow(defn, {}), T0)
    state = worker_result(state, "work__1", T0 + 1)
    state, _ = step(state, T0 + 2)

    loop_task = current(state, "loop")
    assert loop_task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert loop_task.reason_for_incompletion.endswith("must be a list, but found nothing")
    assert "work__2" not in [t.reference_task_name for t in state.workflow.tasks]


def test_items_with_a_condition_stop_at_the_first_false_condition():
    defn = definition([items_loop(items="${workflow.input.list}", loopCondition="$.work['go'] == true")])
    state, _ = step(new_workflow(defn, {"list": [1, 2, 3, 4]}), T0)
    state = worker_result(state, "work__1", T0 + 1, output={"go": True})
    state, _ = step(state, T0 + 2)
    state = worker_result(state, "work__2", T0 + 3, output={"go": False})
    state, _ = step(state, T0 + 4)

    assert current(state, "loop").status == TaskStatus.COMPLETED
    assert current(state, "loop").output_data["iteration"] == 2
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_items_with_a_condition_that_reads_loop_item_and_index():
    condition = "$.loopItem != 'stop' && $.loopIndex == $.loop['loopIndex']"
    defn = definition([items_loop(items="${workflow.input.list}", loopCondition=condition)])
    state, _ = step(new_workflow(defn, {"list": ["a", "stop", "c"]}), T0)
    state = run_items(state, ["work__1", "work__2"])

    assert current(state, "loop").status == TaskStatus.COMPLETED
    assert current(state, "loop").output_data["iteration"] == 2


def test_items_end_the_loop_even_while_the_condition_holds():
    defn = definition([items_loop(items="${workflow.input.list}", loopCondition="true")])
    state, _ = step(new_workflow(defn, {"list": ["a", "b"]}), T0)
    state = run_items(state, ["work__1", "work__2"])

    assert current(state, "loop").status == TaskStatus.COMPLETED
    assert [t.reference_task_name for t in state.workflow.tasks] == ["loop", "work__1", "work__2"]


# --- keepLastN: only the last K iterations stay -----------------------------------------------------


def test_keep_last_n_drops_old_output_keys_and_removes_old_body_tasks():
    defn = definition(
        [loop("$.loop['iteration'] < $.max", BODY, inputParameters={"max": 5, "keepLastN": 2}), AFTER]
    )
    state, plan = step(new_workflow(defn, {}), T0)
    removed = [plan.removed_tasks]
    ids = {}
    for n in range(1, 6):
        ids[n] = current(state, f"work__{n}").task_id
        state = worker_result(state, f"work__{n}", T0 + n, output={"n": n})
        state, plan = step(state, T0 + n)
        removed.append(plan.removed_tasks)

    # iteration N (> 2) starts by removing iteration N-2, once
    assert removed == [(), (), (ids[1],), (ids[2],), (ids[3],), ()]
    loop_task = current(state, "loop")
    assert loop_task.status == TaskStatus.COMPLETED and loop_task.iteration == 5
    assert loop_task.output_data == {"iteration": 5, "4": {"work": {"n": 4}}, "5": {"work": {"n": 5}}}
    assert [t.reference_task_name for t in state.workflow.tasks] == ["loop", "work__4", "work__5", "after"]
    assert current(state, "after").input_data["loop"] == loop_task.output_data
    assert decide(state, T0 + 10).is_empty


def test_keep_last_n_with_a_system_task_body_never_writes_the_old_iterations():
    body = [
        {
            "name": "generate",
            "taskReferenceName": "generate",
            "type": "INLINE",
            "inputParameters": {
                "evaluatorType": "javascript",
                "expression": "$.i * 10",
                "i": "${loop.output.iteration}",
            },
        },
        {
            "name": "process",
            "taskReferenceName": "process",
            "type": "INLINE",
            "inputParameters": {
                "evaluatorType": "javascript",
                "expression": "$.value + 1",
                "value": "${generate.output.result}",
            },
        },
    ]
    loop_task = loop(
        "if ($.loop['iteration'] < $.max) { true; } else { false; }",
        body,
        inputParameters={"keepLastN": 3, "max": "${workflow.input.max_iterations}"},
    )
    state, plan = step(new_workflow(definition([loop_task]), {"max_iterations": 5}), T0)

    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert plan.removed_tasks == ()
    assert [t.reference_task_name for t in plan.new_tasks] == [
        "loop",
        *(f"{ref}__{n}" for n in (3, 4, 5) for ref in ("generate", "process")),
    ]
    output = current(state, "loop").output_data
    assert sorted(output) == ["3", "4", "5", "iteration"]
    assert output["5"] == {"generate": {"result": 50}, "process": {"result": 51}}


def test_keep_last_n_forgets_a_branch_task_that_only_an_old_iteration_ran():
    """Iterations 1 and 3 run ``odd``, 2 and 4 ``even`` (which reads ``odd``), all in one decide: removing
    ``odd__1`` must not leave ``${odd...}`` pointing at an attempt that is gone."""
    inline_value = {"evaluatorType": "javascript", "expression": "$.n"}
    switch = {
        "name": "sw",
        "taskReferenceName": "sw",
        "type": "SWITCH",
        "evaluatorType": "javascript",
        "expression": "$.i % 2 == 0 ? 'even' : 'odd'",
        "inputParameters": {"i": "${loop.output.iteration}"},
        "decisionCases": {
            "even": [
                {
                    "name": "even",
                    "taskReferenceName": "even",
                    "type": "INLINE",
                    "inputParameters": {**inline_value, "n": "${odd.output.result}"},
                }
            ]
        },
        "defaultCase": [
            {
                "name": "odd",
                "taskReferenceName": "odd",
                "type": "INLINE",
                "inputParameters": {**inline_value, "n": "${loop.output.iteration}"},
            }
        ],
    }
    loop_task = loop("$.loop['iteration'] < 4", [switch], inputParameters={"keepLastN": 1})
    state, _ = step(new_workflow(definition([loop_task]), {}), T0)

    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert [t.reference_task_name for t in state.workflow.tasks] == ["loop", "sw__4", "even__4"]
    assert current(state, "loop").output_data == {
        "iteration": 4,
        "4": {"sw": {"evaluationResult": ["even"], "selectedCase": "even"}, "even": {"result": 3}},
    }


@pytest.mark.parametrize("keep", [0, -1, "2", True, 2.0, None])
def test_keep_last_n_other_than_a_positive_integer_keeps_everything(keep):
    defn = definition([loop("$.loop['iteration'] < 3", BODY, inputParameters={"keepLastN": keep})])
    state, _ = step(new_workflow(defn, {}), T0)
    for n in (1, 2, 3):
        state = worker_result(state, f"work__{n}", T0 + n)
        state, plan = step(state, T0 + n)
        assert plan.removed_tasks == ()
    assert sorted(current(state, "loop").output_data) == ["1", "2", "3", "iteration"]
    assert len(state.workflow.tasks) == 4


def test_keep_last_n_with_items_keeps_loop_item_and_index():
    defn = definition([items_loop(items="${workflow.input.list}", inputParameters={"keepLastN": 1})])
    state, _ = step(new_workflow(defn, {"list": ["a", "b", "c"]}), T0)
    state = run_items(state, ["work__1", "work__2", "work__3"])

    assert current(state, "loop").output_data == {
        "iteration": 3,
        "loopIndex": 2,
        "loopItem": "c",
        "3": {"work": {"seen": {"item": "c", "index": 2}}},
    }
    assert [t.reference_task_name for t in state.workflow.tasks] == ["loop", "work__3"]
