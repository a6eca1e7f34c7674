"""Pause and resume as pure plans (``engine.lifecycle``): what changes, what is refused, and how a paused
workflow behaves under ``decide()``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from batonflow.engine.decider import decide
from batonflow.engine.lifecycle import InvalidTransition, pause, resume, terminate
from batonflow.engine.plan import Plan, WorkflowChange
from batonflow.engine.state import WorkflowState
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, apply, current, definition, new_workflow, worker_result

SEQUENCE = [{"name": "a", "taskReferenceName": "a"}, {"name": "b", "taskReferenceName": "b"}]


def committed(state: WorkflowState, plan: Plan) -> WorkflowState:
    """What the executor stores for ``plan``: ``apply`` plus the header's bookkeeping (lastSeq, the wake-up,
    lastRetriedTime), which the operations here read or write. Like the executor, it writes nothing for an
    empty plan that keeps the wake-up."""
    if plan.is_empty and plan.wake_at == state.wake_at:
        return state
    after = apply(state, plan)
    change = plan.workflow
    if change is not None and change.last_retried_time is not None:
        after = dataclasses.replace(
            after, workflow=after.workflow.model_copy(update={"last_retried_time": change.last_retried_time})
        )
    return dataclasses.replace(after, wake_at=plan.wake_at, last_seq=max(state.last_seq, plan.last_seq))


def decided(state: WorkflowState, now: int) -> tuple[WorkflowState, Plan]:
    plan = decide(state, now)
    return committed(state, plan), plan


def finished(state: WorkflowState, reference: str, now: int, **result: Any) -> WorkflowState:
    """A worker's result (``worker_result``), keeping the header's bookkeeping."""
    done = worker_result(state, reference, now, **result)
    return dataclasses.replace(done, last_seq=state.last_seq, wake_at=state.wake_at)


def running() -> WorkflowState:
    return decided(new_workflow(definition(SEQUENCE)), T0)[0]


def test_pause_changes_only_the_status_and_keeps_the_pending_wake_up():
    state = dataclasses.replace(running(), wake_at=T0 + 5_000, last_seq=1)

    plan = pause(state, T0 + 1)

    assert plan == Plan(workflow=WorkflowChange(status=WorkflowStatus.PAUSED), wake_at=T0 + 5_000, last_seq=1)


def test_pausing_a_paused_workflow_changes_nothing():
    paused = committed(running(), pause(running(), T0 + 1))
    assert paused.workflow.status == WorkflowStatus.PAUSED

    assert pause(paused, T0 + 2).is_empty


@pytest.mark.parametrize(
    "status",
    [WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.TIMED_OUT, WorkflowStatus.TERMINATED],
)
def test_a_finished_workflow_cannot_be_paused(status: WorkflowStatus):
    state = running()
    finished = dataclasses.replace(state, workflow=state.workflow.model_copy(update={"status": status}))

    with pytest.raises(InvalidTransition) as refused:
        pause(finished, T0 + 1)
    assert str(refused.value) == "Workflow wf.1/wf-1 has ended, status cannot be updated."


def test_resume_runs_again_and_restarts_the_workflow_timeout_clock():
    paused = committed(running(), pause(running(), T0 + 1))

    plan = resume(paused, T0 + 7)

    assert plan.workflow == WorkflowChange(status=WorkflowStatus.RUNNING, last_retried_time=T0 + 7)
    assert not plan.new_tasks and not plan.task_changes and not plan.dispatches and not plan.removed_tasks


@pytest.mark.parametrize("status", [WorkflowStatus.RUNNING, WorkflowStatus.COMPLETED])
def test_only_a_paused_workflow_can_be_resumed(status: WorkflowStatus):
    state = running()
    other = dataclasses.replace(state, workflow=state.workflow.model_copy(update={"status": status}))

    with pytest.raises(InvalidTransition) as refused:
        resume(other, T0 + 1)
    assert str(refused.value) == (
        f"The workflow wf-1 is not PAUSED so cannot resume. Current status is {status.value}"
    )


def test_a_paused_workflow_schedules_nothing_until_it_is_resumed():
    state = committed(running(), pause(running(), T0 + 1))
    state = finished(state, "a", T0 + 2, output={"x": 1})

    state, plan = decided(state, T0 + 3)
    assert not plan.new_tasks and plan.workflow is None
    assert [t.reference_task_name for t in state.workflow.tasks] == ["a"]

    state = committed(state, resume(state, T0 + 4))
    state, plan = decided(state, T0 + 5)
    assert [t.reference_task_name for t in plan.new_tasks] == ["b"]
    state, _ = decided(finished(state, "b", T0 + 6), T0 + 6)
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert current(state, "a").status == TaskStatus.COMPLETED


def test_the_workflow_timeout_runs_while_paused_and_restarts_on_resume():
    timed = definition(SEQUENCE, timeoutSeconds=10, timeoutPolicy="TIME_OUT_WF")
    state, _ = decided(new_workflow(timed), T0)
    paused = committed(state, pause(state, T0 + 1_000))

    _, expired = decided(paused, T0 + 10_000)
    assert expired.workflow is not None and expired.workflow.status == WorkflowStatus.TIMED_OUT

    resumed = committed(paused, resume(paused, T0 + 9_000))
    _, still_running = decided(resumed, T0 + 18_000)
    assert still_running.workflow is None
    _, expired = decided(resumed, T0 + 19_000)
    assert expired.workflow is not None and expired.workflow.status == WorkflowStatus.TIMED_OUT


def test_a_paused_workflow_can_be_terminated():
    paused = committed(running(), pause(running(), T0 + 1))

    plan = terminate(paused, "stop", T0 + 2)

    assert plan.workflow is not None and plan.workflow.status == WorkflowStatus.TERMINATED
    assert [c.task.status for c in plan.task_changes] == [TaskStatus.CANCELED]
