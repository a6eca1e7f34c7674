"""Worker-facing task operations: poll (REST workers), apply a result (REST and SQS-native), read a task.

Applying a result is a single conditional write on the task item (``status IN (SCHEDULED, IN_PROGRESS)``):
a late or duplicate result finds the attempt finished and changes nothing. The caller then decides the
workflow where the result landed (:func:`decide_after`, ``batonflow.service.deciding``) or wakes the
decider — always, even for a duplicate, because the first delivery may have died between its write and
its decide; a decide over an unchanged workflow is a cheap no-op.

A finishing result (COMPLETED, FAILED...) reads nothing: the write returns the attempt, and on a failed
condition the attempt as it is, which tells a finished attempt (ALREADY_DONE) from a missing one (not
found). What it sets from the attempt's state — a start time and a poll count where there are none yet —
is guessed and checked by the write's condition (``_unset_guess``). IN_PROGRESS results and heartbeats
still read the attempt first: what they write depends on its type and deadline.

Heartbeats (``extendLease``) move only the response-timeout clock of an IN_PROGRESS attempt. An SQS-native
worker sends them too, as progress notices (``batonflow.sdk.lease``), and its first, the start notice, is
what starts the attempt it holds, which stays SCHEDULED while the worker tells the engine nothing: the
attempt becomes IN_PROGRESS since the worker received it, so ``timeoutSeconds`` and
``responseTimeoutSeconds`` expire for a hung worker as for a REST one (``_start``). A notice that changes
nothing (stale, or for a finished attempt) wakes no decider: it never woke one the first time.

An IN_PROGRESS result puts a worker task back on its queue (SCHEDULED, polled again after
``callbackAfterSeconds``); a task no worker polls (WAIT, HUMAN, SUB_WORKFLOW...) stays IN_PROGRESS with
the new output (REFERENCE §3.3 step 4).

Updates by reference (``POST /api/tasks/{workflowId}/{taskRefName}/{status}``) find the open attempt of
that reference and apply a result built from it, with the given map **merged** into its current output
(pitfall 7); the rest is the same path.

A large output (over the payload threshold) is stored in S3 before the write (``store.payloads``), or
arrives as a reference an SQS-native worker uploaded; one over the hard limit, or a reference to another
workflow's object, fails the attempt with FAILED_WITH_TERMINAL_ERROR (retrying would send it again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from batonflow import metrics
from batonflow.engine.document import base_reference
from batonflow.engine.ids import workflow_id_of
from batonflow.engine.operators import operator_for
from batonflow.engine.timeouts import task_deadline
from batonflow.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from batonflow.model import Task, TaskStatus, Workflow
from batonflow.model.wire import DeciderReason, ResultMessage, TaskMessage, TimerKind, TimerMessage
from batonflow.queues.sqs import wake_messages
from batonflow.service.dispatch import dispatch
from batonflow.service.runtime import Runtime
from batonflow.store.layout import attempt_from_packed
from batonflow.store.payloads import MAX_PAYLOAD_BYTES

logger = logging.getLogger(__name__)

_WORKER_STATUSES = {
    TaskStatus.IN_PROGRESS,
    TaskStatus.COMPLETED,
    TaskStatus.FAILED,
    TaskStatus.FAILED_WITH_TERMINAL_ERROR,
    TaskStatus.CANCELED,
}
_MAX_POLL_WAIT_MS = 5000
SYNC_WAIT_S = 5.0
"""How long a by-reference ``/sync`` update waits for the decider before answering the workflow as it is."""
_SYNC_POLL_S = 0.1
_RECEIVE_BATCH = 10


class Applied(Enum):
    FINISHED = "finished"  # the attempt reached a terminal status: wake the decider
    REQUEUED = "requeued"  # IN_PROGRESS result: the task waits for its callback, nothing to decide
    KEPT_OPEN = "kept_open"  # IN_PROGRESS result for a task no worker polls: new output, nothing to decide
    LEASE_EXTENDED = "lease_extended"
    STARTED = "started"  # an SQS-native worker's start notice: the attempt is IN_PROGRESS, its deadlines set
    IGNORED = "ignored"  # a notice that changes nothing (stale, or for a finished attempt): nothing to decide
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


def apply_result(
    runtime: Runtime, result: ResultMessage, *, allow_timed_out: bool = False, seen: Task | None = None
) -> ResultOutcome:
    """Apply a worker's result to its attempt. Raises NotFoundError for an unknown task.

    ``seen``: the attempt as the caller read it, if it did (to guess its start time and poll count from).
    """
    parse_status(result.status, allow_timed_out=allow_timed_out)
    result = _admitted(runtime, result)
    status = TaskStatus(result.status)
    if result.extend_lease or status == TaskStatus.IN_PROGRESS:
        return _apply_to_read_task(runtime, result, status)
    now = runtime.clock()
    created = _create_from_record(runtime, result, status, now)
    if created is not None:
        _store_logs(runtime, created, result)
        _finished(runtime, created)
        return ResultOutcome(Applied.FINISHED, created)
    unstarted, unpolled = _unset_guess(result, seen)
    write = runtime.executions.update_open_task_fields(
        result.workflow_instance_id,
        result.task_id,
        _result_changes(result, status, now, unstarted=unstarted, unpolled=unpolled, requeue=False),
        unset={"start_time": unstarted, "poll_count": unpolled},
    )
    task = write.task
    if task is None:
        raise NotFoundError(f"Task not found for taskId: {result.task_id}")
    if not write.written:
        if task.status.is_terminal:
            return ResultOutcome(Applied.ALREADY_DONE, task)
        changed = _changed(task, result, status, now, requeue=False)
        if not runtime.executions.update_open_task(changed):
            return ResultOutcome(Applied.ALREADY_DONE, task)
        task = changed
    _store_logs(runtime, task, result)
    _finished(runtime, task)
    return ResultOutcome(Applied.FINISHED, task)


def _create_from_record(runtime: Runtime, result: ResultMessage, status: TaskStatus, now: int) -> Task | None:
    """A finishing result that hands back its attempt's record (the attempt was held in its workflow's
    header when its message went): the attempt's item, created with the result in one write that reads
    nothing. None when the result has no record, or the item exists already (a start notice, a lease or a
    duplicate created it): the result is then written to the item."""
    if result.attempt is None:
        return None
    try:
        held = attempt_from_packed(result.attempt, result.workflow_instance_id)
    except ValueError as error:
        logger.warning("ignoring a result's unreadable attempt record: %s", error)
        return None
    if held.task_id != result.task_id:
        return None
    changes = _result_changes(result, status, now, unstarted=True, unpolled=True, requeue=False)
    finished = held.model_copy(update=changes)
    return finished if runtime.executions.create_attempt(finished) else None


def _admitted(runtime: Runtime, result: ResultMessage) -> ResultMessage:
    """The result with a large output offloaded, or turned into a terminal failure when the output cannot
    be taken (over the hard limit, or a reference to another workflow's payload)."""
    payloads = runtime.payloads
    if payloads is None or result.extend_lease:
        return result
    try:
        output = payloads.offload(result.output_data, result.workflow_instance_id, limit=MAX_PAYLOAD_BYTES)
    except (PayloadTooLargeError, BadRequestError) as error:
        return result.model_copy(
            update={
                "status": TaskStatus.FAILED_WITH_TERMINAL_ERROR.value,
                "output_data": {},
                "reason_for_incompletion": f"task output rejected: {error.message}",
            }
        )
    return result if output is result.output_data else result.model_copy(update={"output_data": output})


def _finished(runtime: Runtime, task: Task) -> None:
    """Count and log an attempt a result just finished: ids, type and status; its output only when
    payload logging is on."""
    metrics.count_task_end(task.status)
    details: dict[str, object] = {
        "workflowId": task.workflow_instance_id,
        "taskId": task.task_id,
        "taskType": task.task_type,
        "status": task.status.value,
    }
    if runtime.settings.log_payloads:
        details["outputData"] = task.output_data
    logger.info("task finished", extra=details)


def _unset_guess(result: ResultMessage, seen: Task | None) -> tuple[bool, bool]:
    """Whether the attempt's start time and poll count are still 0, as far as can be told without reading it.

    A result that brings its own start time comes from an SQS-native worker, which takes its message
    without a lease (the attempt is still SCHEDULED, never started, unless the task ran long enough for a
    start notice); any other from a worker that leased the attempt (a REST poll, the system-task function),
    which started it. A wrong guess (a task that sent a start notice) costs a second write, never a wrong
    one (the write's condition checks it).
    """
    if seen is not None:
        return seen.start_time == 0, seen.poll_count == 0
    fresh = result.start_time > 0
    return fresh, fresh


def _apply_to_read_task(runtime: Runtime, result: ResultMessage, status: TaskStatus) -> ResultOutcome:
    """An IN_PROGRESS result or a heartbeat: what it writes depends on the attempt (its type, whether it
    holds a response deadline), so the attempt is read first."""
    task = runtime.executions.get_task(result.workflow_instance_id, result.task_id)
    if task is None:
        raise NotFoundError(f"Task not found for taskId: {result.task_id}")
    if task.status.is_terminal:
        return ResultOutcome(Applied.IGNORED if result.extend_lease else Applied.ALREADY_DONE, task)
    now = runtime.clock()
    if result.extend_lease:
        return _extendlease(runtime, task, result, now)
    requeue = status == TaskStatus.IN_PROGRESS and _is_polled(task)
    changed = _changed(task, result, status, now, requeue=requeue)
    if not runtime.executions.update_open_task(changed):
        return ResultOutcome(Applied.ALREADY_DONE, task)
    _store_logs(runtime, changed, result)
    if requeue:
        dispatch(runtime, [(changed, result.callback_after_seconds)], now=now)
        return ResultOutcome(Applied.REQUEUED, changed)
    if status == TaskStatus.IN_PROGRESS:
        return ResultOutcome(Applied.KEPT_OPEN, changed)
    return ResultOutcome(Applied.FINISHED, changed)


def _changed(task: Task, result: ResultMessage, status: TaskStatus, now: int, *, requeue: bool) -> Task:
    """The attempt with the result applied."""
    changes = _result_changes(
        result, status, now, unstarted=task.start_time == 0, unpolled=task.poll_count == 0, requeue=requeue
    )
    return task.model_copy(update=changes)


def _result_changes(
    result: ResultMessage, status: TaskStatus, now: int, *, unstarted: bool, unpolled: bool, requeue: bool
) -> dict[str, object]:
    """The task fields a result sets: a start time and a poll count only where the attempt has none yet;
    an IN_PROGRESS result puts a polled attempt back on its queue (``requeue``)."""
    changes: dict[str, object] = {
        "output_data": result.output_data,
        "reason_for_incompletion": result.reason_for_incompletion,
        "update_time": now,
        "callback_after_seconds": result.callback_after_seconds,
    }
    if result.worker_id is not None:
        changes["worker_id"] = result.worker_id
    if unstarted:
        changes["start_time"] = result.start_time or now
    if unpolled:
        changes["poll_count"] = 1
    if status == TaskStatus.IN_PROGRESS:
        changes["status"] = TaskStatus.SCHEDULED if requeue else TaskStatus.IN_PROGRESS
    else:
        changes["status"] = status
        changes["end_time"] = now
    return changes


def _is_polled(task: Task) -> bool:
    """Whether the task is handed out through a queue (worker and HTTP-like types)."""
    return operator_for(task.workflow_task.type if task.workflow_task else task.task_type or "").is_worker


MAX_NEW_TASKS_IN_REQUEST = 100
"""The most attempts a decide inside an API request may create (about a second of writes); a wider plan,
such as a large fork's, is left to the decider function, which has minutes, where API Gateway waits 29 s."""


def decide_after(runtime: Runtime, outcome: ResultOutcome) -> None:
    """Decide the workflow of a result applied through the API, here, as Conductor does on a task update
    (see ``batonflow.service.deciding``), if it has something to decide.

    A duplicate (ALREADY_DONE: a worker sending its update again after no answer) is decided as a
    redelivered message is, its last commit's outbox repeated: the first request may have died after that
    commit and before its dispatches.
    """
    if not outcome.wakes_decider:
        return
    # imported here: the executor applies results (a child workflow's end) through this module
    from batonflow.service.deciding import decide_here

    task = outcome.task
    workflow_id = task.workflow_instance_id
    decide_here(
        runtime,
        wake_messages([(workflow_id, task.task_id, task.seq)], DeciderReason.TASK),
        {workflow_id} if outcome.applied == Applied.ALREADY_DONE else set(),
        max_new_tasks=MAX_NEW_TASKS_IN_REQUEST,
    )


def pending_task(workflow: Workflow, reference: str) -> Task | None:
    """The open attempt of a reference: an exact match first, else one of its loop iterations
    (``ref__N``), as Conductor's ``getPendingTaskForWorkflow`` looks them up."""
    open_tasks = sorted((t for t in workflow.tasks if not t.status.is_terminal), key=lambda t: t.seq)
    exact = next((t for t in open_tasks if t.reference_task_name == reference), None)
    if exact is not None:
        return exact
    return next((t for t in open_tasks if base_reference(t.reference_task_name or "") == reference), None)


def update_by_reference(
    runtime: Runtime,
    workflow_id: str,
    reference: str,
    status: str,
    output: dict[str, object],
    *,
    worker_id: str | None,
) -> ResultOutcome | None:
    """Apply ``status`` to the open attempt of ``reference`` with ``output`` merged into its output, and
    wake the decider; None (nothing changed) for an unknown workflow or one without an open task of that
    reference (Conductor answers both with an empty 200)."""
    parse_status(status, allow_timed_out=False)
    loaded = runtime.executions.load(workflow_id)
    if loaded is None:
        return None
    return apply_to_reference(runtime, loaded.workflow, reference, status, output, worker_id)


def update_by_reference_sync(
    runtime: Runtime,
    workflow_id: str,
    reference: str,
    status: str,
    output: dict[str, object],
    *,
    worker_id: str | None,
) -> Workflow:
    """As :func:`update_by_reference`, then answer the workflow once it has been decided.

    The update decides in the request, as Conductor does; when it hands the workflow to the decider
    function instead (a plan too wide for a request, a lost race), the request waits (at most
    ``SYNC_WAIT_S``) until the header's version moves past the one read before the update.
    Raises NotFoundError when there is no open task of that reference.
    """
    parse_status(status, allow_timed_out=False)
    loaded = runtime.executions.load(workflow_id)
    outcome = None
    if loaded is not None:
        outcome = apply_to_reference(runtime, loaded.workflow, reference, status, output, worker_id)
    if loaded is None or outcome is None:
        raise NotFoundError(f"Found no running task {reference} of workflow {workflow_id} to update")
    if outcome.applied == Applied.FINISHED:
        wait_for_decide(runtime, workflow_id, loaded.header.version)
    after = runtime.executions.load(workflow_id)
    return (after or loaded).workflow


def wait_for_decide(runtime: Runtime, workflow_id: str, version: int) -> None:
    """Wait (at most ``SYNC_WAIT_S``) until a commit moves the workflow past ``version``."""
    for _ in range(int(SYNC_WAIT_S / _SYNC_POLL_S)):
        header = runtime.executions.load(workflow_id, include_tasks=False)
        if header is None or header.header.version > version:
            return
        runtime.sleep(_SYNC_POLL_S)


def apply_to_reference(
    runtime: Runtime,
    workflow: Workflow,
    reference: str,
    status: str,
    output: dict[str, object],
    worker_id: str | None,
) -> ResultOutcome | None:
    task = pending_task(workflow, reference)
    if task is None:
        return None
    result = ResultMessage(
        workflowInstanceId=task.workflow_instance_id,
        taskId=task.task_id,
        status=status,
        outputData={**task.output_data, **output},
        reasonForIncompletion=task.reason_for_incompletion,
        callbackAfterSeconds=task.callback_after_seconds,
        workerId=worker_id,
    )
    outcome = apply_result(runtime, result, seen=task)
    decide_after(runtime, outcome)
    return outcome


def response_deadline(task: Task, now: int) -> int | None:
    if task.response_timeout_seconds <= 0:
        return None
    return now + task.response_timeout_seconds * 1000


def _extendlease(runtime: Runtime, task: Task, result: ResultMessage, now: int) -> ResultOutcome:
    """Heartbeat: only the response-timeout clock moves (no requeue, no output change). The timer goes to
    the attempt's next deadline, which for a polled one may be its ``timeoutSeconds`` rather than the new
    response deadline. For a polled attempt still SCHEDULED, a start notice (``_start``)."""
    polled = _is_polled(task)
    if task.status == TaskStatus.SCHEDULED and polled:
        return _start(runtime, task, result, now)
    extended = task.model_copy(update={"update_time": now})
    deadline = None
    if task.status == TaskStatus.IN_PROGRESS:
        deadline = task_deadline(extended) if polled else response_deadline(extended, now)
    if not runtime.executions.update_open_task(extended, wake_at=deadline):
        return ResultOutcome(Applied.IGNORED, task)
    if deadline is not None:
        runtime.queues.wake_at(task.workflow_instance_id, deadline, now=now, task_id=task.task_id)
    return ResultOutcome(Applied.LEASE_EXTENDED, extended)


def _start(runtime: Runtime, task: Task, result: ResultMessage, now: int) -> ResultOutcome:
    """An SQS-native worker's start notice: the SCHEDULED attempt it holds becomes IN_PROGRESS since the
    worker received it (``startTime``), leased to it as a REST poll would, and gets a timer for its next
    deadline (``timeoutSeconds`` from that start, ``responseTimeoutSeconds`` from now).

    One conditional write (on SCHEDULED): a duplicate finds the attempt started, a late one finds it finished.
    A notice without a start time changes nothing, nor does one for an attempt an IN_PROGRESS result put
    back on its queue (it has a start time then) that was received before that result applied: it comes
    from the earlier delivery (the results queue keeps no order). Only then are the worker's and the
    engine's clocks compared, with ``callbackAfterSeconds`` of slack before the next delivery: a notice for
    an attempt never put back comes from the delivery being run, whatever the worker's clock says.
    """
    requeued = task.start_time > 0
    if result.start_time <= 0 or (requeued and result.start_time < task.update_time):
        return ResultOutcome(Applied.IGNORED, task)
    started = task.model_copy(
        update={
            "status": TaskStatus.IN_PROGRESS,
            "start_time": task.start_time or result.start_time,
            "poll_count": task.poll_count or 1,
            "worker_id": result.worker_id or task.worker_id,
            "callback_after_seconds": 0,
            "update_time": now,
        }
    )
    deadline = task_deadline(started)
    if not runtime.executions.lease_task(started, wake_at=deadline):
        return ResultOutcome(Applied.IGNORED, task)
    if deadline is not None:
        runtime.queues.wake_at(task.workflow_instance_id, deadline, now=now, task_id=task.task_id)
    return ResultOutcome(Applied.STARTED, started)


def _store_logs(runtime: Runtime, task: Task, result: ResultMessage) -> None:
    if result.logs:
        runtime.executions.add_logs(
            task.workflow_instance_id,
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
    deadlines = {t.task_id: response_deadline(t, now) for t in candidates}
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
    leased = [t for t in (lease(runtime, t, worker_id, now, deadlines[t.task_id]) for t in candidates) if t]
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


def lease(runtime: Runtime, task: Task, worker_id: str | None, now: int, deadline: int | None) -> Task | None:
    """SCHEDULED -> IN_PROGRESS for ``worker_id`` (a REST poll, the system-task function); None if another
    took it or it finished."""
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
    """The attempt of that id, read by key in the partition of the workflow its id names (no index)."""
    workflow_id = workflow_id_of(task_id)
    task = runtime.executions.get_task(workflow_id, task_id) if workflow_id else None
    if task is None:
        raise NotFoundError(f"Task not found for taskId: {task_id}")
    return task


def get_logs(runtime: Runtime, task_id: str) -> list[dict[str, object]]:
    return runtime.executions.get_logs(task_id)
