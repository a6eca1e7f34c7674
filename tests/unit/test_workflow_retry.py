"""Workflow-level retry, restart and rerun (``engine.reopen``): re-open a finished workflow."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from batonflow.engine.plan import Plan
from batonflow.engine.reopen import NOTHING_TO_RETRY, failed_child, rerun, restart, resume_sub_workflow, retry
from batonflow.engine.state import WorkflowState
from batonflow.errors import BadRequestError, ConflictError, NotFoundError
from batonflow.model import RerunWorkflowRequest, TaskStatus, WorkflowStatus
from tests.support.engine import T0, apply, current, definition, new_workflow, step, worker_result

SEQUENCE = [
    {"name": "a", "taskReferenceName": "a"},
    {"name": "b", "taskReferenceName": "b", "inputParameters": {"from_a": "${a.output.x}"}},
]
FORK = {
    "name": "fork",
    "taskReferenceName": "fork",
    "type": "FORK_JOIN",
    "forkTasks": [
        [{"name": "left", "taskReferenceName": "left"}],
        [{"name": "right", "taskReferenceName": "right"}],
    ],
}
NO_RETRIES = {name: {"retryCount": 0} for name in ("a", "b", "left", "right")}
JOIN = {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "right"]}


def failed_at_b():
    state, _ = step(new_workflow(definition(SEQUENCE, task_defs=NO_RETRIES)), T0)
    state, _ = step(worker_result(state, "a", T0 + 1, output={"x": 1}), T0 + 1)
    state, _ = step(worker_result(state, "b", T0 + 2, status=TaskStatus.FAILED, reason="boom"), T0 + 2)
    assert state.workflow.status == WorkflowStatus.FAILED
    return state


def test_retry_schedules_the_failed_task_again_and_the_workflow_runs_on():
    state = failed_at_b()
    plan = retry(state, T0 + 10)

    [again] = plan.new_tasks
    failed = current(state, "b")
    assert (again.reference_task_name, again.retry_count, again.status) == ("b", 1, TaskStatus.SCHEDULED)
    assert again.retried_task_id == failed.task_id and again.task_id != failed.task_id
    assert again.input_data == {"from_a": 1}
    assert [d.task.task_id for d in plan.dispatches] == [again.task_id]
    assert [c.task.retried for c in plan.task_changes] == [True]
    change = plan.workflow
    assert change is not None
    assert (change.status, change.last_retried_time, change.clear_reason) == (
        WorkflowStatus.RUNNING,
        T0 + 10,
        True,
    )

    state = apply(state, plan)
    state, _ = step(worker_result(state, "b", T0 + 11, output={"y": 2}), T0 + 11)
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"y": 2}


def test_a_retried_fork_re_opens_its_join_in_place():
    state, _ = step(new_workflow(definition([FORK, JOIN], task_defs=NO_RETRIES)), T0)
    state, _ = step(worker_result(state, "left", T0 + 1, output={"l": 1}), T0 + 1)
    state, _ = step(worker_result(state, "right", T0 + 2, status=TaskStatus.FAILED, reason="no"), T0 + 2)
    assert state.workflow.status == WorkflowStatus.FAILED
    join = current(state, "join")
    assert join.status == TaskStatus.CANCELED

    state = apply(state, retry(state, T0 + 3))
    assert current(state, "join").task_id == join.task_id
    assert current(state, "join").status == TaskStatus.IN_PROGRESS
    assert (current(state, "right").retry_count, current(state, "right").status) == (1, TaskStatus.SCHEDULED)
    assert current(state, "left").retry_count == 0  # what succeeded is not run again

    state, _ = step(worker_result(state, "right", T0 + 4, output={"r": 2}), T0 + 4)
    assert current(state, "join").output_data == {"left": {"l": 1}, "right": {"r": 2}}
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_a_running_workflow_cannot_be_retried():
    state, _ = step(new_workflow(definition(SEQUENCE)), T0)
    with pytest.raises(NotFoundError, match=r"Workflow is still running\.  status=RUNNING"):
        retry(state, T0 + 1)


def test_a_completed_workflow_has_nothing_to_retry():
    state, _ = step(new_workflow(definition(SEQUENCE[:1])), T0)
    state, _ = step(worker_result(state, "a", T0 + 1), T0 + 1)
    assert state.workflow.status == WorkflowStatus.COMPLETED
    with pytest.raises(ConflictError, match=re.escape(NOTHING_TO_RETRY)):
        retry(state, T0 + 2)


def test_restart_discards_the_earlier_run_and_starts_again_under_new_task_ids():
    state = failed_at_b()
    earlier = {t.task_id for t in state.workflow.tasks}
    plan = restart(state, T0 + 20)

    assert set(plan.removed_tasks) == earlier
    assert plan.new_tasks == ()  # the decider schedules the first task once the commit is in
    assert plan.new_run is not None
    assert (plan.new_run.generation, plan.new_run.first_seq, plan.new_run.create_time) == (1, 3, T0 + 20)
    change = plan.workflow
    assert change is not None
    assert (change.status, change.output, change.clear_reason) == (WorkflowStatus.RUNNING, {}, True)

    restarted = apply(state, plan)
    restarted = replace(restarted, generation=1, first_seq=3, last_seq=2)
    restarted, _ = step(restarted, T0 + 21)
    first = current(restarted, "a")
    assert first.task_id not in earlier
    assert (first.seq, first.retry_count, first.status) == (3, 0, TaskStatus.SCHEDULED)


def test_only_a_finished_and_restartable_workflow_restarts():
    running, _ = step(new_workflow(definition(SEQUENCE)), T0)
    with pytest.raises(ConflictError, match=r"still running"):
        restart(running, T0 + 1)
    done, _ = step(new_workflow(definition(SEQUENCE[:1]).model_copy(update={"restartable": False})), T0)
    done, _ = step(worker_result(done, "a", T0 + 1), T0 + 1)
    with pytest.raises(NotFoundError, match="not restartable"):
        restart(done, T0 + 2)


def rerun_applied(state: WorkflowState, plan: Plan) -> WorkflowState:
    """What the store holds after a rerun's commit: the new run's generation, input and correlation id."""
    run = plan.new_run
    assert run is not None
    stored = apply(state, plan)
    updates: dict[str, object] = {"reason_for_incompletion": None}
    if run.input is not None:
        updates["input"] = run.input
    if run.correlation_id is not None:
        updates["correlation_id"] = run.correlation_id
    return replace(
        stored,
        workflow=stored.workflow.model_copy(update=updates),
        generation=run.generation,
        first_seq=run.first_seq,
        last_seq=plan.last_seq,
    )


def test_rerun_without_a_task_starts_again_with_the_new_input_and_correlation_id():
    state = failed_at_b()
    earlier = {t.task_id for t in state.workflow.tasks}
    request = RerunWorkflowRequest(workflow_input={"n": 7}, correlation_id="again")
    plan = rerun(state, T0 + 20, request)

    assert set(plan.removed_tasks) == earlier and plan.new_tasks == ()
    assert plan.new_run is not None
    run = plan.new_run
    assert (run.generation, run.first_seq, run.create_time) == (1, 3, T0)
    assert (run.input, run.correlation_id) == ({"n": 7}, "again")
    change = plan.workflow
    assert change is not None
    assert (change.status, change.clear_reason, change.failed_reference_task_names) == (
        WorkflowStatus.RUNNING,
        True,
        (),
    )

    state, _ = step(rerun_applied(state, plan), T0 + 21)
    first = current(state, "a")
    assert first.task_id not in earlier
    assert (first.seq, first.status, first.correlation_id) == (3, TaskStatus.SCHEDULED, "again")


def test_rerun_from_a_task_keeps_what_came_before_and_runs_the_task_again():
    state = failed_at_b()
    kept, target = current(state, "a"), current(state, "b")
    plan = rerun(state, T0 + 20, RerunWorkflowRequest(re_run_from_task_id=target.task_id))

    assert plan.removed_tasks == (target.task_id,)
    [again] = plan.new_tasks
    assert again.task_id not in (kept.task_id, target.task_id)
    assert (again.reference_task_name, again.retry_count, again.seq) == ("b", 0, 3)
    assert (again.status, again.input_data) == (TaskStatus.SCHEDULED, {"from_a": 1})
    assert [d.task.task_id for d in plan.dispatches] == [again.task_id]
    assert plan.new_run is not None
    assert (plan.new_run.generation, plan.new_run.first_seq, plan.new_run.input) == (1, 0, None)

    state = rerun_applied(state, plan)
    assert state.workflow.status == WorkflowStatus.RUNNING
    assert current(state, "a") == kept
    state, _ = step(worker_result(state, "b", T0 + 21, output={"y": 3}), T0 + 21)
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"y": 3}


def test_rerun_from_an_earlier_task_discards_later_ones_and_uses_the_given_input():
    state = failed_at_b()
    target = current(state, "a")
    request = RerunWorkflowRequest(re_run_from_task_id=target.task_id, task_input={"given": True})
    plan = rerun(state, T0 + 20, request)

    assert set(plan.removed_tasks) == {t.task_id for t in state.workflow.tasks}
    [again] = plan.new_tasks
    assert (again.reference_task_name, again.input_data) == ("a", {"given": True})

    state = rerun_applied(state, plan)
    state, _ = step(worker_result(state, "a", T0 + 21, output={"x": 5}), T0 + 21)
    assert (current(state, "b").input_data, current(state, "b").seq) == ({"from_a": 5}, 4)


def test_a_rerun_from_a_task_records_exactly_the_attempts_it_discards():
    state, _ = step(
        new_workflow(definition(SEQUENCE, task_defs={"b": {"retryCount": 1, "retryDelaySeconds": 0}})), T0
    )
    state, _ = step(worker_result(state, "a", T0 + 1, output={"x": 1}), T0 + 1)
    state, _ = step(worker_result(state, "b", T0 + 2, status=TaskStatus.FAILED, reason="1st"), T0 + 2)
    state, _ = step(worker_result(state, "b", T0 + 3, status=TaskStatus.FAILED, reason="2nd"), T0 + 3)
    first_b, target = sorted(
        (t for t in state.workflow.tasks if t.reference_task_name == "b"), key=lambda t: t.seq
    )
    plan = rerun(state, T0 + 20, RerunWorkflowRequest(re_run_from_task_id=target.task_id))

    assert plan.new_run is not None and plan.new_run.superseded is not None
    rule = plan.new_run.superseded
    assert {t.task_id for t in state.workflow.tasks if rule.covers(t)} == set(plan.removed_tasks)
    assert set(plan.removed_tasks) == {first_b.task_id, target.task_id}
    assert not any(rule.covers(t) for t in plan.new_tasks)  # the new attempt is past the old run's seqs
    whole = rerun(state, T0 + 20, RerunWorkflowRequest())
    assert whole.new_run is not None and whole.new_run.superseded is None  # first_seq hides that run


def test_rerun_of_a_synchronous_system_task_runs_it_again_with_the_given_input():
    inline = {
        "name": "calc",
        "taskReferenceName": "calc",
        "type": "INLINE",
        "inputParameters": {
            "evaluatorType": "javascript",
            "expression": "$.v * 2",
            "v": "${workflow.input.v}",
        },
    }
    state, _ = step(new_workflow(definition([inline, SEQUENCE[0]], task_defs=NO_RETRIES), {"v": 2}), T0)
    state, _ = step(worker_result(state, "a", T0 + 1, status=TaskStatus.FAILED, reason="x"), T0 + 1)
    assert current(state, "calc").output_data == {"result": 4}
    task_input = {"evaluatorType": "javascript", "expression": "$.v * 2", "v": 10}
    plan = rerun(
        state,
        T0 + 2,
        RerunWorkflowRequest(re_run_from_task_id=current(state, "calc").task_id, task_input=task_input),
    )
    [again] = plan.new_tasks
    assert (again.status, again.output_data) == (TaskStatus.COMPLETED, {"result": 20})

    state, plan = step(rerun_applied(state, plan), T0 + 3)
    assert current(state, "a").status == TaskStatus.SCHEDULED


def test_rerun_in_a_fork_re_opens_the_join_and_retries_the_failed_sibling():
    state, _ = step(new_workflow(definition([FORK, JOIN], task_defs=NO_RETRIES)), T0)
    state, _ = step(worker_result(state, "left", T0 + 1, output={"l": 1}), T0 + 1)
    state, _ = step(worker_result(state, "right", T0 + 2, status=TaskStatus.FAILED, reason="no"), T0 + 2)
    join, right = current(state, "join"), current(state, "right")
    assert join.seq > right.seq  # the JOIN is scheduled after the branches
    left = current(state, "left")

    plan = rerun(state, T0 + 3, RerunWorkflowRequest(re_run_from_task_id=left.task_id))
    assert set(plan.removed_tasks) == {left.task_id, right.task_id, join.task_id}
    state = rerun_applied(state, plan)
    state, _ = step(state, T0 + 4)
    assert {t.reference_task_name: t.status for t in state.workflow.tasks} == {
        "fork": TaskStatus.COMPLETED,
        "left": TaskStatus.SCHEDULED,
        "right": TaskStatus.SCHEDULED,
        "join": TaskStatus.IN_PROGRESS,
    }
    state, _ = step(worker_result(state, "left", T0 + 5, output={"l": 2}), T0 + 5)
    state, _ = step(worker_result(state, "right", T0 + 6, output={"r": 3}), T0 + 6)
    assert current(state, "join").output_data == {"left": {"l": 2}, "right": {"r": 3}}
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_rerun_from_a_later_branch_task_keeps_the_join_waiting_and_the_failed_branch_retried():
    branches = {
        **FORK,
        "forkTasks": [
            [{"name": "left", "taskReferenceName": "left"}, {"name": "b", "taskReferenceName": "b"}],
            [{"name": "right", "taskReferenceName": "right"}],
        ],
    }
    join = {**JOIN, "joinOn": ["b", "right"]}
    state, _ = step(new_workflow(definition([branches, join], task_defs=NO_RETRIES)), T0)
    state, _ = step(worker_result(state, "left", T0 + 1), T0 + 1)
    state, _ = step(worker_result(state, "right", T0 + 2, status=TaskStatus.FAILED, reason="no"), T0 + 2)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert current(state, "b").status == TaskStatus.CANCELED
    old_join, old_right = current(state, "join"), current(state, "right")

    plan = rerun(state, T0 + 3, RerunWorkflowRequest(re_run_from_task_id=current(state, "b").task_id))
    state = rerun_applied(state, plan)
    assert current(state, "join").task_id == old_join.task_id
    assert current(state, "join").status == TaskStatus.IN_PROGRESS
    assert (current(state, "right").retry_count, current(state, "right").status) == (1, TaskStatus.SCHEDULED)
    assert current(state, "b").status == TaskStatus.SCHEDULED and current(state, "b").retry_count == 0
    assert old_right.task_id in {t.task_id for t in state.workflow.tasks}

    state, _ = step(worker_result(state, "b", T0 + 4, output={"b": 1}), T0 + 4)
    state, _ = step(worker_result(state, "right", T0 + 5, output={"r": 1}), T0 + 5)
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_rerun_is_refused_for_a_running_workflow_and_an_unknown_task():
    running, _ = step(new_workflow(definition(SEQUENCE)), T0)
    with pytest.raises(ConflictError, match=r"still running\.  status=RUNNING"):
        rerun(running, T0 + 1, RerunWorkflowRequest())
    with pytest.raises(BadRequestError, match=r"^Task nope not found$"):
        rerun(failed_at_b(), T0 + 1, RerunWorkflowRequest(re_run_from_task_id="nope"))


def test_rerun_from_inside_a_loop_is_refused_and_from_the_loop_itself_runs_it_again():
    loop = {
        "name": "loop",
        "taskReferenceName": "loop",
        "type": "DO_WHILE",
        "loopCondition": "$.loop['iteration'] < 2",
        "loopOver": [{"name": "a", "taskReferenceName": "a"}],
    }
    state, _ = step(new_workflow(definition([loop, SEQUENCE[1]], task_defs=NO_RETRIES)), T0)
    state, _ = step(worker_result(state, "a__1", T0 + 1), T0 + 1)
    state, _ = step(worker_result(state, "a__2", T0 + 2, output={"x": 1}), T0 + 2)
    state, _ = step(worker_result(state, "b", T0 + 3, status=TaskStatus.FAILED), T0 + 3)
    assert state.workflow.status == WorkflowStatus.FAILED
    with pytest.raises(BadRequestError, match="inside a DO_WHILE"):
        rerun(state, T0 + 4, RerunWorkflowRequest(re_run_from_task_id=current(state, "a__1").task_id))

    plan = rerun(state, T0 + 4, RerunWorkflowRequest(re_run_from_task_id=current(state, "loop").task_id))
    assert len(plan.removed_tasks) == len(state.workflow.tasks)
    state = rerun_applied(state, plan)
    assert [(t.reference_task_name, t.status) for t in state.workflow.tasks] == [
        ("loop", TaskStatus.IN_PROGRESS),
        ("a__1", TaskStatus.SCHEDULED),
    ]


def test_rerun_from_a_sub_workflow_task_starts_a_new_child():
    sub = {
        "name": "child_task",
        "taskReferenceName": "child",
        "type": "SUB_WORKFLOW",
        "subWorkflowParam": {"name": "child_flow", "version": 1},
        "inputParameters": {"who": "${workflow.input.who}"},
    }
    state, _ = step(new_workflow(definition([sub]), {"who": "ada"}), T0)
    earlier = current(state, "child")
    state, _ = step(
        worker_result(state, "child", T0 + 1, status=TaskStatus.FAILED, reason="child failed"), T0 + 1
    )
    assert state.workflow.status == WorkflowStatus.FAILED

    request = RerunWorkflowRequest(re_run_from_task_id=earlier.task_id, workflow_input={"who": "bob"})
    plan = rerun(state, T0 + 2, request)
    [again] = plan.new_tasks
    [child] = plan.children
    assert again.task_id != earlier.task_id and child.task.task_id == again.task_id
    assert child.workflow_id == again.sub_workflow_id != earlier.sub_workflow_id
    assert child.request["input"] == {"who": "bob"}


SUB = {
    "name": "child_task",
    "taskReferenceName": "child",
    "type": "SUB_WORKFLOW",
    "subWorkflowParam": {"name": "child_flow", "version": 1},
}


def failed_at_child(*tasks: dict, child: dict = SUB) -> WorkflowState:
    state, _ = step(new_workflow(definition([*tasks, child], task_defs=NO_RETRIES)), T0)
    for task in tasks:
        state, _ = step(worker_result(state, task["taskReferenceName"], T0 + 1), T0 + 1)
    state = worker_result(state, "child", T0 + 2, status=TaskStatus.FAILED, reason="child failed")
    state, _ = step(state, T0 + 2)
    return state


def test_a_child_running_again_puts_the_parents_task_back_in_progress_with_the_same_child():
    state = failed_at_child({"name": "a", "taskReferenceName": "a"})
    assert state.workflow.status == WorkflowStatus.FAILED
    sub = current(state, "child")

    plan = resume_sub_workflow(state, T0 + 10, sub.task_id)
    state = apply(state, plan)
    resumed = current(state, "child")
    assert (resumed.task_id, resumed.status, resumed.sub_workflow_id) == (
        sub.task_id,
        TaskStatus.IN_PROGRESS,
        sub.sub_workflow_id,
    )
    assert resumed.reason_for_incompletion is None and resumed.end_time == 0
    assert plan.children == () and plan.new_tasks == ()  # the same child: nothing is started
    change = plan.workflow
    assert change is not None
    assert (change.status, change.last_retried_time, change.clear_reason) == (
        WorkflowStatus.RUNNING,
        T0 + 10,
        True,
    )

    state = worker_result(state, "child", T0 + 11, output={"y": 1})
    state, _ = step(state, T0 + 11)
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_resuming_a_child_re_opens_the_parents_other_unsuccessful_tasks():
    parallel = {
        "name": "fork",
        "taskReferenceName": "fork",
        "type": "FORK_JOIN",
        "forkTasks": [[SUB], [{"name": "right", "taskReferenceName": "right"}]],
    }
    join = {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["child", "right"]}
    state, _ = step(new_workflow(definition([parallel, join], task_defs=NO_RETRIES)), T0)
    state = worker_result(state, "child", T0 + 1, status=TaskStatus.FAILED, reason="child failed")
    state, _ = step(state, T0 + 1)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert current(state, "right").status == TaskStatus.CANCELED

    state = apply(state, resume_sub_workflow(state, T0 + 2, current(state, "child").task_id))
    assert current(state, "join").status == TaskStatus.IN_PROGRESS
    assert (current(state, "right").retry_count, current(state, "right").status) == (1, TaskStatus.SCHEDULED)
    assert current(state, "child").retry_count == 0


@pytest.mark.parametrize("why", ["optional", "superseded", "waiting"])
def test_a_parent_is_left_alone_when_its_task_does_not_wait_for_that_child(why: str):
    if why == "optional":
        state = failed_at_child(child={**SUB, "optional": True})
        task_id = current(state, "child").task_id
        assert state.workflow.status == WorkflowStatus.COMPLETED
    elif why == "superseded":
        state, _ = step(new_workflow(definition([SUB], task_defs={"child_task": {"retryCount": 1}})), T0)
        task_id = current(state, "child").task_id
        state = worker_result(state, "child", T0 + 1, status=TaskStatus.FAILED, reason="child failed")
        state, _ = step(state, T0 + 1)
        assert current(state, "child").task_id != task_id  # the parent went on with a new child
    else:
        state, _ = step(new_workflow(definition([SUB])), T0)
        task_id = current(state, "child").task_id
    assert resume_sub_workflow(state, T0 + 5, task_id).is_empty
    assert resume_sub_workflow(state, T0 + 5, "no-such-task").is_empty


def test_resumption_looks_for_the_child_of_the_first_unsuccessful_task():
    state = failed_at_child({"name": "a", "taskReferenceName": "a"})
    assert failed_child(state.workflow) == current(state, "child").sub_workflow_id
    assert failed_child(failed_at_b().workflow) is None  # the first failed task is no sub-workflow
