"""Deadlines of tasks and workflows (REFERENCE §3.5), checked whenever a decide runs.

Nothing here waits: the decider checks deadlines against ``now`` and returns the earliest future one as the
plan's ``wake_at``, which the executor turns into a timer message. A lost timer is caught by the sweeper.
"""

from __future__ import annotations

from dataclasses import dataclass

from batonflow.engine.context import Decision
from batonflow.model import Task, TaskStatus, TaskTimeoutPolicy, WorkflowStatus, WorkflowTimeoutPolicy

_MS = 1000


@dataclass(frozen=True)
class Expiry:
    """A task deadline that passed: what the task becomes, and whether the whole workflow times out."""

    reason: str
    times_out_workflow: bool


def task_expiry(task: Task, now: int) -> Expiry | None:
    """The first passed deadline of a non-terminal worker task, if any (ALERT_ONLY deadlines never expire)."""
    task_def = task.task_definition
    if task_def is None or task.status.is_terminal:
        return None
    policy = task_def.timeout_policy
    start_delay = task.start_delay_in_seconds or 0
    if task_def.timeout_seconds > 0 and task.start_time > 0:
        elapsed = now - (task.start_time + start_delay * _MS)
        if elapsed >= task_def.timeout_seconds * _MS and policy != TaskTimeoutPolicy.ALERT_ONLY:
            reason = (
                f"Task timed out after {elapsed // _MS} seconds. Timeout configured as "
                f"{task_def.timeout_seconds} seconds. Timeout policy configured to {policy.value}"
            )
            return Expiry(reason, policy == TaskTimeoutPolicy.TIME_OUT_WF)
    poll_timeout = task_def.poll_timeout_seconds or 0
    if task.status == TaskStatus.SCHEDULED and poll_timeout > 0:
        elapsed = now - (task.scheduled_time + start_delay * _MS)
        if (
            elapsed >= (poll_timeout + task.callback_after_seconds) * _MS
            and policy != TaskTimeoutPolicy.ALERT_ONLY
        ):
            reason = (
                f"Task poll timed out after {elapsed // _MS} seconds. Poll timeout configured as "
                f"{poll_timeout} seconds. Timeout policy configured to {policy.value}"
            )
            return Expiry(reason, policy == TaskTimeoutPolicy.TIME_OUT_WF)
    response_timeout = task.response_timeout_seconds
    response_deadline = task.update_time + (response_timeout + task.callback_after_seconds) * _MS
    if task.status == TaskStatus.IN_PROGRESS and response_timeout > 0 and now >= response_deadline:
        reason = (
            f"responseTimeout: {response_timeout} exceeded for the taskId: {task.task_id} "
            f"with Task Definition: {task.task_def_name}"
        )
        return Expiry(reason, times_out_workflow=False)
    return None


def task_deadline(task: Task) -> int | None:
    """When the next deadline of a non-terminal worker task passes (epoch ms), if it has one."""
    task_def = task.task_definition
    if task_def is None or task.status.is_terminal:
        return None
    start_delay = task.start_delay_in_seconds or 0
    candidates: list[int] = []
    enforced = task_def.timeout_policy != TaskTimeoutPolicy.ALERT_ONLY
    if enforced and task_def.timeout_seconds > 0 and task.start_time > 0:
        candidates.append(task.start_time + (start_delay + task_def.timeout_seconds) * _MS)
    poll_timeout = task_def.poll_timeout_seconds or 0
    if enforced and task.status == TaskStatus.SCHEDULED and poll_timeout > 0:
        candidates.append(
            task.scheduled_time + (start_delay + poll_timeout + task.callback_after_seconds) * _MS
        )
    if task.status == TaskStatus.IN_PROGRESS and task.response_timeout_seconds > 0:
        candidates.append(
            task.update_time + (task.response_timeout_seconds + task.callback_after_seconds) * _MS
        )
    return min(candidates, default=None)


def workflow_deadline(decision: Decision) -> int | None:
    definition = decision.definition
    workflow = decision.workflow
    if definition.timeout_seconds <= 0 or definition.timeout_policy != WorkflowTimeoutPolicy.TIME_OUT_WF:
        return None
    started = workflow.last_retried_time or workflow.create_time
    return started + definition.timeout_seconds * _MS


def workflow_expiry(decision: Decision) -> str | None:
    """Conductor's reason text if the workflow's own timeout has passed (RUNNING or PAUSED)."""
    deadline = workflow_deadline(decision)
    workflow = decision.workflow
    if deadline is None or workflow.status not in (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED):
        return None
    if decision.now < deadline:
        return None
    started = workflow.last_retried_time or workflow.create_time
    return (
        f"Workflow timed out after {(decision.now - started) // _MS} seconds. Timeout configured as "
        f"{decision.definition.timeout_seconds} seconds. Timeout policy configured to TIME_OUT_WF"
    )


def next_deadline(decision: Decision) -> int | None:
    """The earliest deadline of the workflow and its current task attempts (worker timeouts, and what
    other open tasks name through ``Operator.deadline``, such as a WAIT's end).

    A partial decide sees only some attempts: it keeps the header's pending wake-up as a candidate (if that
    deadline has gone meanwhile, the wake-up finds nothing to do and the full decide it causes sets the
    next one).
    """
    candidates: list[int] = []
    for task in decision.latest_attempts():
        if task.status.is_terminal:
            continue
        operator = decision.operator_of(task)
        deadline = task_deadline(task) if operator.is_worker else operator.deadline(task)
        if deadline is not None:
            candidates.append(deadline)
    if decision.partial and decision.state.wake_at is not None:
        candidates.append(decision.state.wake_at)
    workflow = workflow_deadline(decision)
    if workflow is not None:
        candidates.append(workflow)
    return min(candidates, default=None)
