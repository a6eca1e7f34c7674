"""WAIT (REFERENCE §4.15): wait for a ``duration``, ``until`` a moment, or for an update.

The task is created IN_PROGRESS and never queued: its deadline is returned by :meth:`WaitOperator.deadline`,
so the decider's ``wake_at`` (and thus a timer) covers it, and the decide that runs at or after the deadline
completes it. Without ``duration`` and ``until`` it waits for an update (by id, by reference or a signal)
and has no deadline at all. An update is accepted at any time, before the deadline too.

The deadline is not stored: it is computed again from the frozen ``inputData`` and ``scheduledTime`` each
time it is needed (Conductor keeps it in an internal ``waitTimeout`` field that its JSON leaves out), so a
worker update that rewrites ``callbackAfterSeconds`` cannot move it. ``callbackAfterSeconds`` shows the
wait in seconds as Conductor does (2147483647 when waiting for an update).

Where Baton differs: an unparsable ``duration`` produced by a template fails the task with
FAILED_WITH_TERMINAL_ERROR (Conductor's decide throws and the WAIT is never created); an ``until`` without a
zone is read as UTC (Conductor uses the server's zone; Lambda's is UTC); dates are read strictly
(``2025-13-01`` is refused, where Java's lenient parser rolls it over into the next year). Zones are
``UTC``/``GMT``, offsets (``GMT+02:00``, ``+0200``) or IANA names (``Europe/Paris``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from batonflow.engine.context import Decision, reference_for
from batonflow.engine.inputs import resolve_task_input
from batonflow.engine.operators.base import AttemptOperator, new_task
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask
from batonflow.model.task_rules import WAIT_DATE, WAIT_DURATION, wait_input_text

WAITS_FOR_UPDATE: Final = 2_147_483_647
"""``callbackAfterSeconds`` of a WAIT without deadline (Java's ``Integer.MAX_VALUE``)."""
_BOTH: Final = "Both 'duration' and 'until' specified. Please provide only one input"
_UNIT_SECONDS = (86_400, 3_600, 60, 1)
_OFFSET = re.compile(r"(?:GMT|UTC)?([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


class WaitInputError(ValueError):
    """The WAIT's input cannot give a deadline; the message is the task's reason for incompletion."""


def parse_duration_seconds(text: str) -> int:
    match = WAIT_DURATION.fullmatch(text)
    if match is None:
        raise WaitInputError(f"Not valid duration: {text}")
    return sum(int(value) * unit for value, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if value)


def _zone(text: str) -> tzinfo | None:
    if text.upper() in ("UTC", "GMT", "Z"):
        return UTC
    offset = _OFFSET.fullmatch(text)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_until_ms(text: str) -> int:
    """Epoch ms of an ``until`` value; no zone means UTC."""
    match = WAIT_DATE.fullmatch(text.strip())
    if match is None:
        raise WaitInputError(f"Invalid/Unsupported Wait Until format.  Provided: {text}")
    year, month, day, hour, minute, zone_text = match.groups()
    zone = _zone(zone_text) if zone_text else UTC
    try:
        if zone is None:
            raise ValueError(zone_text)
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=zone)
    except ValueError as error:
        raise WaitInputError(f"Invalid/Unsupported Wait Until format.  Provided: {text}") from error
    return int(moment.timestamp() * 1000)


def wait_deadline(input_data: dict[str, Any], scheduled_time: int) -> int | None:
    """When a WAIT with this input, scheduled at ``scheduled_time``, is done (epoch ms); None: it waits for
    an update. Raises :class:`WaitInputError` for input that gives no deadline (Conductor's messages)."""
    duration = wait_input_text(input_data.get("duration"))
    until = wait_input_text(input_data.get("until"))
    if duration.strip() and until.strip():
        raise WaitInputError(_BOTH)
    if duration.strip():
        return scheduled_time + parse_duration_seconds(duration) * 1000
    if until.strip():
        return parse_until_ms(until)
    return None


class WaitOperator(AttemptOperator):
    task_types = (TaskType.WAIT,)

    def create(
        self,
        decision: Decision,
        workflow_task: WorkflowTask,
        iteration: int,
        *,
        retry_count: int,
        retried: Task | None = None,
    ) -> Task:
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), retry_count)
        input_data = resolve_task_input(decision, workflow_task, None, task_id)
        status, reason, wait_seconds = TaskStatus.IN_PROGRESS, None, WAITS_FOR_UPDATE
        try:
            deadline = wait_deadline(input_data, decision.now)
        except WaitInputError as error:
            status, reason, wait_seconds = TaskStatus.FAILED_WITH_TERMINAL_ERROR, str(error), 0
        else:
            if deadline is not None:
                wait_seconds = max(0, (deadline - decision.now) // 1000)
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.WAIT,
            status=status,
            input_data=input_data,
            iteration=iteration,
            retry_count=retry_count,
            reason_for_incompletion=reason,
            callback_after_seconds=wait_seconds,
            retried_task_id=retried.task_id if retried else None,
        )
        decision.add_task(task)
        return task

    def execute(self, decision: Decision, task: Task) -> None:
        """Complete the task once its deadline has come (a WAIT whose ``until`` is past: at once)."""
        deadline = self.deadline(task)
        if deadline is None or decision.now < deadline:
            return
        decision.update_task(
            task.model_copy(
                update={
                    "status": TaskStatus.COMPLETED,
                    "end_time": decision.now,
                    "update_time": decision.now,
                }
            )
        )

    def deadline(self, task: Task) -> int | None:
        if task.status.is_terminal:
            return None
        try:
            return wait_deadline(task.input_data, task.scheduled_time)
        except WaitInputError:
            return None
