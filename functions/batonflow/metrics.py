"""Operational counts (workflows started and ended, tasks scheduled and finished, decider conflicts...).

The service layer counts events where they happen with :func:`count`; a Lambda handler publishes what its
invocation counted once, at its end, as one CloudWatch EMF log line (``batonflow.handlers.observability``),
so counting costs a dict update and publishing no API call. Counting is plain Python: the engine stays pure
(``decide()`` counts nothing) and the service layer does not depend on Powertools.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from batonflow.model import TaskStatus, WorkflowStatus


class Metric(StrEnum):
    """Metric names, as they appear in CloudWatch (unit: Count)."""

    WORKFLOWS_STARTED = "WorkflowsStarted"
    WORKFLOWS_COMPLETED = "WorkflowsCompleted"
    WORKFLOWS_FAILED = "WorkflowsFailed"
    WORKFLOWS_TIMED_OUT = "WorkflowsTimedOut"
    WORKFLOWS_TERMINATED = "WorkflowsTerminated"
    TASKS_SCHEDULED = "TasksScheduled"
    """Task attempts handed to a queue (worker tasks, HTTP, EVENT...), retries included."""
    TASKS_COMPLETED = "TasksCompleted"
    TASKS_FAILED = "TasksFailed"
    """FAILED and FAILED_WITH_TERMINAL_ERROR."""
    TASKS_TIMED_OUT = "TasksTimedOut"
    DECIDER_CONFLICTS = "DeciderConflicts"
    """A decide's commit lost a race with another writer; it is decided again at once."""
    DECIDER_RETRIES = "DeciderRetries"
    """A decide repeated for a message delivered again (an earlier invocation failed) or sent by the
    sweeper."""
    SWEEPER_REPAIRS = "SweeperRepairs"
    """Overdue workflows the sweeper woke: each one is a lost timer or wake-up."""


WORKFLOW_ENDS = {
    WorkflowStatus.COMPLETED: Metric.WORKFLOWS_COMPLETED,
    WorkflowStatus.FAILED: Metric.WORKFLOWS_FAILED,
    WorkflowStatus.TIMED_OUT: Metric.WORKFLOWS_TIMED_OUT,
    WorkflowStatus.TERMINATED: Metric.WORKFLOWS_TERMINATED,
}
TASK_ENDS = {
    TaskStatus.COMPLETED: Metric.TASKS_COMPLETED,
    TaskStatus.COMPLETED_WITH_ERRORS: Metric.TASKS_COMPLETED,
    TaskStatus.FAILED: Metric.TASKS_FAILED,
    TaskStatus.FAILED_WITH_TERMINAL_ERROR: Metric.TASKS_FAILED,
    TaskStatus.TIMED_OUT: Metric.TASKS_TIMED_OUT,
}

_counts: Counter[Metric] = Counter()


def count(metric: Metric, value: int = 1) -> None:
    """Add ``value`` to ``metric`` for this invocation."""
    if value:
        _counts[metric] += value


def count_task_end(status: TaskStatus) -> None:
    """Count an attempt that just reached ``status`` (CANCELED, SKIPPED... have no metric)."""
    metric = TASK_ENDS.get(status)
    if metric is not None:
        count(metric)


def drain() -> dict[Metric, int]:
    """What was counted since the last drain; the counts start again from zero."""
    counted = dict(_counts)
    _counts.clear()
    return counted
