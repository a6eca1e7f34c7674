"""Conductor's enums, with the same names and values on the wire.

Enum-typed model fields reject unknown values (a pydantic ``ValidationError``, which the API answers with a
400). ``WorkflowTask.type`` is deliberately *not* an enum: Conductor treats any unknown type string as
``USER_DEFINED`` (a worker task whose queue is the type string), see :meth:`TaskType.of`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class TaskStatus(StrEnum):
    """``Task.Status``. The flags are those of ``common/metadata/tasks/Task.java`` (REFERENCE 1.8)."""

    IN_PROGRESS = "IN_PROGRESS"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    SCHEDULED = "SCHEDULED"
    TIMED_OUT = "TIMED_OUT"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        return self not in _TASK_NOT_TERMINAL

    @property
    def is_successful(self) -> bool:
        """True for SCHEDULED and IN_PROGRESS too: "has not failed" (that is how Conductor uses it)."""
        return self not in _TASK_UNSUCCESSFUL

    @property
    def is_retriable(self) -> bool:
        return self not in _TASK_NOT_RETRIABLE


_TASK_NOT_TERMINAL: Final = frozenset({TaskStatus.SCHEDULED, TaskStatus.IN_PROGRESS})
_TASK_UNSUCCESSFUL: Final = frozenset(
    {TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR, TaskStatus.TIMED_OUT, TaskStatus.CANCELED}
)
_TASK_NOT_RETRIABLE: Final = frozenset(
    {TaskStatus.FAILED_WITH_TERMINAL_ERROR, TaskStatus.CANCELED, TaskStatus.SKIPPED}
)


class WorkflowStatus(StrEnum):
    """``Workflow.WorkflowStatus``; PAUSED is "successful" but not terminal, RUNNING is neither."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    TERMINATED = "TERMINATED"
    PAUSED = "PAUSED"

    @property
    def is_terminal(self) -> bool:
        return self not in (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED)

    @property
    def is_successful(self) -> bool:
        return self in (WorkflowStatus.COMPLETED, WorkflowStatus.PAUSED)


class TaskResultStatus(StrEnum):
    """``TaskResult.Status``: the statuses a worker (or an update by reference name) may report."""

    IN_PROGRESS = "IN_PROGRESS"
    FAILED = "FAILED"
    FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"

    def to_task_status(self) -> TaskStatus:
        return TaskStatus(self.value)


class RetryLogic(StrEnum):
    FIXED = "FIXED"
    EXPONENTIAL_BACKOFF = "EXPONENTIAL_BACKOFF"
    LINEAR_BACKOFF = "LINEAR_BACKOFF"


class TaskTimeoutPolicy(StrEnum):
    RETRY = "RETRY"
    TIME_OUT_WF = "TIME_OUT_WF"
    ALERT_ONLY = "ALERT_ONLY"


class WorkflowTimeoutPolicy(StrEnum):
    TIME_OUT_WF = "TIME_OUT_WF"
    ALERT_ONLY = "ALERT_ONLY"


class JoinMode(StrEnum):
    SYNC = "SYNC"
    ASYNC = "ASYNC"


class IdempotencyStrategy(StrEnum):
    """Accepted and stored; Conductor OSS does not enforce it (REFERENCE 3.14)."""

    FAIL = "FAIL"
    RETURN_EXISTING = "RETURN_EXISTING"
    FAIL_ON_RUNNING = "FAIL_ON_RUNNING"


class RateLimitPolicy(StrEnum):
    QUEUE = "QUEUE"
    REJECT = "REJECT"


class SchemaType(StrEnum):
    JSON = "JSON"
    AVRO = "AVRO"
    PROTOBUF = "PROTOBUF"


class TaskType(StrEnum):
    """The classic Conductor task types.

    Conductor OSS's newer add-ons (``LLM_*``, ``*_MCP_*``, ``AGENT``, ...) are left out on purpose: through
    :meth:`of` they become ``USER_DEFINED``, i.e. ordinary worker tasks.
    """

    SIMPLE = "SIMPLE"
    DYNAMIC = "DYNAMIC"
    FORK_JOIN = "FORK_JOIN"
    FORK_JOIN_DYNAMIC = "FORK_JOIN_DYNAMIC"
    DECISION = "DECISION"
    SWITCH = "SWITCH"
    JOIN = "JOIN"
    DO_WHILE = "DO_WHILE"
    SUB_WORKFLOW = "SUB_WORKFLOW"
    START_WORKFLOW = "START_WORKFLOW"
    EVENT = "EVENT"
    WAIT = "WAIT"
    HUMAN = "HUMAN"
    USER_DEFINED = "USER_DEFINED"
    HTTP = "HTTP"
    LAMBDA = "LAMBDA"
    INLINE = "INLINE"
    EXCLUSIVE_JOIN = "EXCLUSIVE_JOIN"
    TERMINATE = "TERMINATE"
    KAFKA_PUBLISH = "KAFKA_PUBLISH"
    JSON_JQ_TRANSFORM = "JSON_JQ_TRANSFORM"
    SET_VARIABLE = "SET_VARIABLE"
    NOOP = "NOOP"

    @classmethod
    def of(cls, type_name: str) -> TaskType:
        """Conductor's ``TaskType.of``: the member with that exact name, else ``USER_DEFINED``."""
        return cls._value2member_map_.get(type_name, cls.USER_DEFINED)  # type: ignore[return-value]


FORK_TASK_TYPE: Final = "FORK"
"""``taskType``/``taskDefName`` of the task created for a static or dynamic fork (not a TaskType member)."""
