"""Timers and the sweeper: how deadlines turn into decides.

The main path is a timer message per deadline. The sweeper is the safety net: every minute it asks the
``wake-index`` GSI for items whose deadline passed more than a grace period ago (their timer was lost, or a
function died between its DynamoDB write and its SQS send) and wakes those workflows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from batonflow import metrics
from batonflow.model.wire import DeciderReason, TimerKind, TimerMessage
from batonflow.service import concurrency
from batonflow.service.runtime import Runtime

logger = logging.getLogger(__name__)

SWEEP_GRACE_MS = 60_000


def fire_timers(runtime: Runtime, timers: Sequence[TimerMessage], *, reason: DeciderReason) -> None:
    """Act on the timers that are due; send the others back with the time they still have to wait.

    Never early: a decide woken before a deadline finds nothing to do and, the deadline being the
    workflow's pending wake-up already, would not ask for another one (only the sweeper would notice,
    a minute later). SQS delays are whole seconds and never deliver before them, so a timer arrives on
    time or is re-sent for the remaining second.
    """
    now = runtime.clock()
    not_due = [t for t in timers if t.due_at > now]
    due = [t for t in timers if t.due_at <= now]
    if not_due:
        runtime.queues.send_timers(not_due, now=now)
    wake = [t.workflow_id for t in due if t.kind == TimerKind.WAKE and t.task_id is None]
    if wake:
        runtime.queues.wake_workflows(wake, reason)
    wake_tasks = [(t.workflow_id, t.task_id, 0) for t in due if t.kind == TimerKind.WAKE and t.task_id]
    if wake_tasks:
        runtime.queues.wake_for_tasks(wake_tasks, reason)
    deliveries = [(t.task, 0) for t in due if t.kind == TimerKind.DISPATCH and t.task is not None]
    gated = [(t.task, 0, t.limit or 0) for t in due if t.kind == TimerKind.ADMIT and t.task is not None]
    if gated:
        deliveries.extend(concurrency.admit(runtime, gated, now=now))
    if deliveries:
        runtime.queues.send_tasks(deliveries, now=now)
    for timer in due:
        if timer.kind == TimerKind.REVIEW and timer.definition:
            concurrency.review(runtime, timer.definition, timer.workflow_id, now=now)


def sweep(runtime: Runtime, *, grace_ms: int = SWEEP_GRACE_MS) -> int:
    """Wake every workflow with a deadline older than ``grace_ms``; returns how many were woken."""
    overdue = runtime.executions.overdue_workflows(runtime.clock() - grace_ms)
    if overdue:
        logger.warning("sweeper repairing %d overdue workflows", len(overdue))
        metrics.count(metrics.Metric.SWEEPER_REPAIRS, len(overdue))
        runtime.queues.wake_workflows(overdue, DeciderReason.SWEEP)
    return len(overdue)
