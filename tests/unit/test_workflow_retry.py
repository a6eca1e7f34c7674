"""Workflow-level retry (``engine.reopen.retry``): re-open a finished workflow at its unsuccessful tasks."""

from __future__ import annotations

import re

import pytest

from batonflow.engine.reopen import NOTHING_TO_RETRY, retry
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
