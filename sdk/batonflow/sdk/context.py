"""What a task function sees besides its input, and the two ways it can say "not done normally"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from batonflow.model.wire import TaskMessage


def epoch_ms() -> int:
    return time.time_ns() // 1_000_000


class NonRetryableError(Exception):
    """Raise from a task to fail it for good: the result is FAILED_WITH_TERMINAL_ERROR, no retry follows."""


class TaskInProgress:
    """Return from a task to report progress and be called again later.

    The result is IN_PROGRESS with ``callbackAfterSeconds``; the engine sends the same task again after that
    delay (a new message), so the function should be written to resume from its inputs.
    """

    __slots__ = ("callback_after_seconds", "output")

    def __init__(self, callback_after_seconds: int = 60, output: dict[str, Any] | None = None) -> None:
        self.callback_after_seconds = int(callback_after_seconds)
        self.output = dict(output or {})

    def __repr__(self) -> str:
        return f"TaskInProgress(callback_after_seconds={self.callback_after_seconds}, output={self.output!r})"


class TaskContext:
    """The task being run, for a function that declares a parameter annotated ``TaskContext``.

    ``log()`` lines travel with the result (Conductor's ``logs``: ``{log, taskId, createdTime}``, epoch ms),
    so they cost no extra call.
    """

    def __init__(
        self,
        message: TaskMessage,
        *,
        worker_id: str | None = None,
        now_ms: Callable[[], int] = epoch_ms,
    ) -> None:
        self.task_id = message.task_id
        self.workflow_instance_id = message.workflow_instance_id
        self.retry_count = message.retry_count
        self.reference_task_name = message.reference_task_name
        self.task_type = message.task_type
        self.task_def_name = message.task_def_name
        self.workflow_type = message.workflow_type
        self.correlation_id = message.correlation_id
        self.input_data = message.input_data
        self.attempt_record = message.attempt
        """The engine's record of the attempt, handed back with its result (not for task functions)."""
        self.worker_id = worker_id
        self._now_ms = now_ms
        self._logs: list[dict[str, Any]] = []

    def log(self, msg: str) -> None:
        """Append a line to the task's execution log."""
        self._logs.append({"log": str(msg), "taskId": self.task_id, "createdTime": self._now_ms()})

    @property
    def logs(self) -> list[dict[str, Any]]:
        return list(self._logs)

    def __repr__(self) -> str:
        return f"TaskContext(task_type={self.task_type!r}, task_id={self.task_id!r})"
