"""Worker-facing task operations: poll (REST workers), apply a result (REST and SQS-native), read a task.

Applying a result is a single conditional write on the task item (``status IN (SCHEDULED, IN_PROGRESS)``):
a late or duplicate result finds the attempt finished and changes nothing. The caller then wakes the
decider — always, even for a duplicate, because the first delivery may have died between its write and
its wake-up; a decide over an unchanged workflow is a cheap no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from batonflow.errors import BadRequestError, NotFoundError
from batonflow.model import Task, TaskStatus
from batonflow.model.wire import ResultMessage, TaskMessage, TimerKind, TimerMessage
from batonflow.service.messages import task_message
from batonflow.service.runtime import Runtime

logger = logging.getLogger(__name__)

_WORKER_STATUSES = {
    TaskStatus.IN_PROGRESS,
    TaskStatus.COMPLETED,
    TaskStatus.FAILED,
    TaskStatus.FAILED_WITH_TERMINAL_ERROR,
    TaskStatus.CANCELED,
}
_MAX_POLL_WAIT_MS = 5000
_RECEIVE_BATCH = 10


class Applied(Enum):
    FINISHED = "finished"  # the attempt reached a terminal status: wake the decider
    REQUEUED = "requeued"  # IN_PROGRESS result: the task waits for its callback, nothing to decide
    LEASE_EXTENDED = "lease_extended"
    ALREADY_DONE = "already_done"  # late or duplicate: nothing changed (still wake, see module docstring)


@dataclass(frozen=True)
class ResultOutcome:
    applied: Applied
    task: Task

    @property
    def wakes_decider(self) -> bool:
        return self.applied in (Applied.FINISHED, Applied.ALREADY_DONE)


def parse_status(value: str, *, allow_timed_out: bool) -> TaskStatus:
    try:
        status = TaskStatus(value)
    except ValueError as error:
        raise BadRequestError(f"Invalid task status: {value}") from error
    if status not in _WORKER_STATUSES and not (allow_timed_out and status == TaskStatus.TIMED_OUT):
        raise BadRequestError(f"Invalid task status for a task result: {value}")
    return status


def apply_result(runtime: Runtime, result: ResultMessage, *, allow_timed_out: bool = False) -> ResultOutcome:
    """Apply a worker's result to its attempt. Raises NotFoundError for an unknown task."""
    status = parse_status(result.status, allow_timed_out=allow_timed_out)
    task = runtime.executions.get_task(result.workflow_instance_id, result.task_id)
    if task is None:
        raise NotFoundError(f"Task not found for taskId: {result.task_id}")
    if task.status.is_terminal:
        return ResultOutcome(Applied.ALREADY_DONE, task)
    now = runtime.clock()
    if result.extend_lease:
        return _extend_lease(runtime, task, now)
    update: dict[str, object] = {
        "output_data": result.output_data,
        "reason_for_incompletion": result.reason_for_incompletion,
        "update_time": now,
        "callback_after_seconds": result.callback_after_seconds,
    }
    if result.worker_id is not None:
        update["worker_id"] = result.worker_id
    if task.start_time == 0:
        update["start_time"] = result.start_time or now
    if task.poll_count == 0:
        update["poll_count"] = 1
    if status == TaskStatus.IN_PROGRESS:
        update["status"] = TaskStatus.SCHEDULED
    else:
        update["status"] = status
        update["end_time"] = now
    changed = task.model_copy(update=update)
    if not runtime.executions.update_open_task(changed):
        return ResultOutcome(Applied.ALREADY_DONE, task)
    _store_logs(runtime, changed, result)
    if status == TaskStatus.IN_PROGRESS:
        runtime.queues.send_tasks([(task_message(changed), result.callback_after_seconds)], now=now)
        return ResultOutcome(Applied.REQUEUED, changed)
    return ResultOutcome(Applied.FINISHED, changed)


def _response_deadline(task: Task, now: int) -> int | None:
    if task.response_timeout_seconds <= 0:
        return None
    return now + task.response_timeout_seconds * 1000


def _extend_lease(runtime: Runtime, task: Task, now: int) -> ResultOutcome:
    """Heartbeat: only the response-timeout clock moves (no requeue, no output change)."""
    extended = task.model_copy(update={"update_time": now})
    deadline = _response_deadline(extended, now) if task.status == TaskStatus.IN_PROGRESS else None
    if not runtime.executions.update_open_task(extended, wake_at=deadline):
        return ResultOutcome(Applied.ALREADY_DONE, task)
    if deadline is not None:
        runtime.queues.wake_at(task.workflow_instance_id, deadline, now=now, task_id=task.task_id)
    return ResultOutcome(Applied.LEASE_EXTENDED, extended)


def _store_logs(runtime: Runtime, task: Task, result: ResultMessage) -> None:
    if result.logs:
        runtime.executions.add_logs(
            task.task_id,
            [
                {
                    "log": str(entry.get("log", "")),
                    "taskId": task.task_id,
                    "createdTime": entry.get("createdTime"),
                }
                for entry in result.logs
            ],
            now=runtime.clock(),
        )


def poll(
    runtime: Runtime, task_type: str, *, worker_id: str | None, count: int, timeout_ms: int
) -> list[Task]:
    """Lease up to ``count`` tasks of a type to a REST worker, waiting at most ``timeout_ms`` for the first.

    Each leased task becomes IN_PROGRESS (conditional on SCHEDULED, so two pollers never share one), gets a
    response-timeout timer (all of a poll's timers in one batch, sent *before* the leases: a crash in between
    leaves a harmless extra wake-up), and its message is deleted.
    """
    if timeout_ms > _MAX_POLL_WAIT_MS:
        raise BadRequestError(f"Long Poll Timeout value cannot be more than 5 seconds: {timeout_ms}")
    url = runtime.queues.task_queue_url(task_type)
    wait_seconds = max(0, min(timeout_ms, _MAX_POLL_WAIT_MS) // 1000)
    response = runtime.sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(count, _RECEIVE_BATCH)),
        WaitTimeSeconds=wait_seconds,
    )
    messages = response.get("Messages", [])
    now = runtime.clock()
    candidates = [t for t in (_waiting_task(runtime, m["Body"]) for m in messages) if t is not None]
    deadlines = {t.task_id: _response_deadline(t, now) for t in candidates}
    timers = [
        TimerMessage(
            kind=TimerKind.WAKE,
            workflowId=t.workflow_instance_id,
            dueAt=deadlines[t.task_id],
            taskId=t.task_id,
        )
        for t in candidates
        if deadlines[t.task_id] is not None
    ]
    if timers:
        runtime.queues.send_timers(timers, now=now)
    leased = [t for t in (_lease(runtime, t, worker_id, now, deadlines[t.task_id]) for t in candidates) if t]
    if messages:
        runtime.sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return leased


def _waiting_task(runtime: Runtime, body: str) -> Task | None:
    """The SCHEDULED task a queue message names; None for a malformed, stale or duplicate message."""
    try:
        message = TaskMessage.model_validate_json(body)
    except ValueError:
        logger.warning("dropping a malformed task message")
        return None
    task = runtime.executions.get_task(message.workflow_instance_id, message.task_id)
    return task if task is not None and task.status == TaskStatus.SCHEDULED else None


def _lease(
    runtime: Runtime, task: Task, worker_id: str | None, now: int, deadline: int | None
) -> Task | None:
    leased = task.model_copy(
        update={
            "status": TaskStatus.IN_PROGRESS,
            "start_time": task.start_time or now,
            "worker_id": worker_id,
            "poll_count": task.poll_count + 1,
            "callback_after_seconds": 0,
            "update_time": now,
        }
    )
    return leased if runtime.executions.lease_task(leased, wake_at=deadline) else None


def get_task(runtime: Runtime, task_id: str) -> Task:
    workflow_id = runtime.executions.find_task_workflow(task_id)
    task = runtime.executions.get_task(workflow_id, task_id) if workflow_id else None
    if task is None:
        raise NotFoundError(f"Task not found for taskId: {task_id}")
    return task


def get_logs(runtime: Runtime, task_id: str) -> list[dict[str, object]]:
    return runtime.executions.get_logs(task_id)
