"""Workflow-level retry and restart (``engine.reopen``): re-open a finished workflow."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from batonflow.engine.reopen import NOTHING_TO_RETRY, restart, retry
from batonflow.errors import ConflictError, NotFoundError
from batonflow.model import TaskStatus, WorkflowStatus
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
