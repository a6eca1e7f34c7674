"""``concurrentExecLimit``: at most N attempts of a task definition out with workers at once.

Conductor counts a definition's IN_PROGRESS tasks when a worker polls (REFERENCE §1.5, §3.3). Baton's
SQS-native workers take tasks straight from SQS, so, like the rate limit, the limit applies where every
attempt passes: the hand-off to its queue. An attempt takes a slot (``store.exec_slots``) when it is sent
and gives it back when it finishes; one that finds no free slot waits in its definition's backlog, in the
order attempts were scheduled, and is sent when a slot is given back.

Nothing is lost: slots are given back by the decide that sees the attempt finished (its message names the
attempt; a crash before the release redelivers it), and a review every ``REVIEW_INTERVAL_MS`` while
attempts wait admits them and takes back the slots of attempts that finished or vanished without giving
theirs back (a lost decider message, a removed workflow). A crash between sending a waiting attempt and
taking it off the backlog sends it once more (a duplicate delivery, never a lost task). An attempt that
waits for a delay (retry delay, callback) takes its slot when the delay is over; a re-queued attempt keeps
the slot it holds. Definitions without a limit cost nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from batonflow.model import Task, TaskStatus
from batonflow.model.wire import TaskMessage, TimerKind, TimerMessage
from batonflow.service.runtime import Runtime
from batonflow.store.exec_slots import holder_of, split_holder

logger = logging.getLogger(__name__)

REVIEW_INTERVAL_MS = 60_000
"""How often a backlog is looked at while attempts wait (Conductor postpones a task 60 s when full)."""
_ADMIT_BATCH = 5


def concurrency_limit(task: Task) -> int:
    task_def = task.task_definition
    return (task_def.concurrent_exec_limit or 0) if task_def is not None else 0


def admit(
    runtime: Runtime, attempts: Sequence[tuple[TaskMessage, int, int]], *, now: int
) -> list[tuple[TaskMessage, int]]:
    """Gate (message, delay seconds, limit) attempts; returns those that may be sent now (delay 0).

    A delayed attempt is looked at again when its delay is over (an ADMIT timer); one that finds every
    slot taken waits in the backlog.
    """
    ready: list[tuple[TaskMessage, int]] = []
    later: list[TimerMessage] = []
    for message, delay, limit in attempts:
        definition = message.task_def_name
        if delay > 0:
            later.append(
                TimerMessage(
                    kind=TimerKind.ADMIT,
                    workflowId=message.workflow_instance_id,
                    dueAt=now + delay * 1000,
                    task=message,
                    definition=definition,
                    limit=limit,
                )
            )
        elif runtime.exec_slots.acquire(definition, _holder(message), limit):
            ready.append((message, 0))
        else:
            runtime.exec_slots.wait(definition, message, limit)
            _book_review(runtime, definition, message.workflow_instance_id, now)
    if later:
        runtime.queues.send_timers(later, now=now)
    return ready


def release(runtime: Runtime, attempts: Iterable[Task], *, now: int) -> None:
    """Give back the slots of finished attempts, then send what waited for them."""
    finished: dict[str, list[str]] = {}
    for task in attempts:
        if task.status.is_terminal and concurrency_limit(task) > 0:
            holder = holder_of(task.workflow_instance_id, task.task_id)
            finished.setdefault(task.task_def_name, []).append(holder)
    for definition, holders in finished.items():
        runtime.exec_slots.release(definition, holders)
        _admit_waiting(runtime, definition, now)


def review(runtime: Runtime, definition: str, workflow_id: str, *, now: int) -> None:
    """The backstop: admit what waits, reclaim slots of attempts that are over, look again later if
    attempts still wait."""
    if not _admit_waiting(runtime, definition, now):
        return
    stale = _stale_holders(runtime, runtime.exec_slots.holders(definition))
    if stale:
        logger.warning("reclaiming %d slots of %s left behind", len(stale), definition)
        runtime.exec_slots.release(definition, stale)
        if not _admit_waiting(runtime, definition, now):
            return
    _book_review(runtime, definition, workflow_id, now)


def _admit_waiting(runtime: Runtime, definition: str, now: int) -> bool:
    """Send waiting attempts, oldest first, while slots are free; True if attempts still wait."""
    slots = runtime.exec_slots
    while True:
        waiting = slots.waiting(definition, _ADMIT_BATCH)
        if not waiting:
            return False
        admitted: list[tuple[TaskMessage, int]] = []
        done: list[str] = []
        full = False
        for entry in waiting:
            message = entry.message
            task = runtime.executions.get_task(message.workflow_instance_id, message.task_id)
            if task is None or task.status != TaskStatus.SCHEDULED:
                done.append(entry.key)  # the workflow went on without it (terminated, removed...)
                continue
            if not slots.acquire(definition, _holder(message), entry.limit):
                full = True
                break
            admitted.append((message, 0))
            done.append(entry.key)
        if admitted:
            runtime.queues.send_tasks(admitted, now=now)
        slots.done_waiting(definition, done)
        if full:
            return True
        if len(waiting) < _ADMIT_BATCH:
            return False


def _stale_holders(runtime: Runtime, holders: Sequence[str]) -> list[str]:
    """Holders whose attempt finished or no longer exists."""
    by_workflow: dict[str, list[str]] = {}
    for holder in holders:
        workflow_id, task_id = split_holder(holder)
        by_workflow.setdefault(workflow_id, []).append(task_id)
    stale: list[str] = []
    for workflow_id, task_ids in by_workflow.items():
        tasks, _ = runtime.executions.get_tasks(workflow_id, task_ids)
        open_ids = {t.task_id for t in tasks if not t.status.is_terminal}
        stale.extend(holder_of(workflow_id, task_id) for task_id in task_ids if task_id not in open_ids)
    return stale


def _holder(message: TaskMessage) -> str:
    return holder_of(message.workflow_instance_id, message.task_id)


def _book_review(runtime: Runtime, definition: str, workflow_id: str, now: int) -> None:
    due = now + REVIEW_INTERVAL_MS
    if runtime.exec_slots.claim_review(definition, now=now, review_at=due):
        timer = TimerMessage(kind=TimerKind.REVIEW, workflowId=workflow_id, dueAt=due, definition=definition)
        runtime.queues.send_timers([timer], now=now)
