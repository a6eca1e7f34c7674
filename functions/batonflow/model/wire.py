"""Messages that cross a queue, and the names of the queues they cross.

These shapes are the contract between the engine (Lambda functions), the SQS-native worker runtime
(``batonflow.sdk``) and the emulator. They are deliberately small: a worker gets what it needs to run a
task without reading DynamoDB, and the engine gets what it needs to apply a result without guessing.

Queues (names are ``<prefix><suffix>``; the prefix comes from the stack, e.g. ``baton-dev-``):

=====================  ==================  ============================================================
queue                  kind                carries
=====================  ==================  ============================================================
``task-<type>``        standard            :class:`TaskMessage`, one per scheduled task attempt
``results``            standard            :class:`ResultMessage` from SQS-native workers
``decider.fifo``       FIFO, group = wf id :class:`DeciderMessage` "look at workflow X again"
``timers``             standard            :class:`TimerMessage`, re-sent until due (15-min SQS cap)
=====================  ==================  ============================================================
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from batonflow.model.base import empty_list

MAX_SQS_DELAY_SECONDS = 900
REDRIVEN_ATTRIBUTE = "batonRedriven"
"""Message attribute ``baton dlq redrive`` puts on what it sends back from a dead-letter queue. The message
failed there, perhaps after its commit, but comes back as a new one (receive count 1): the functions treat
it as redelivered, so its commit's outbox is repeated."""
QUEUE_PREFIX_ENV = "BATON_QUEUE_PREFIX"
RESULTS_QUEUE_ENV = "BATON_RESULTS_QUEUE_URL"
"""The two variables a worker needs besides AWS's own (engine functions read them too)."""
RESULTS_QUEUE_SUFFIX = "results"
TASK_QUEUE_ATTRIBUTES = {"SqsManagedSseEnabled": "true"}
"""Attributes of a task queue, whoever creates it first (engine or worker): CreateQueue only succeeds for an
existing queue when the attributes are identical."""
_QUEUE_NAME_LIMIT = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def task_queue_name(prefix: str, task_type: str) -> str:
    """SQS queue name for a task type: ``<prefix>task-<type>``.

    SQS allows only ``[A-Za-z0-9_-]`` and 80 characters, while Conductor task types may hold any text.
    Unsafe or overlong names are made safe and suffixed with a short hash of the original type, so two
    different types never share a queue.
    """
    base = f"{prefix}task-"
    safe = _UNSAFE.sub("_", task_type)
    if safe == task_type and len(base) + len(safe) <= _QUEUE_NAME_LIMIT:
        return base + safe
    digest = hashlib.sha256(task_type.encode()).hexdigest()[:10]
    room = _QUEUE_NAME_LIMIT - len(base) - len(digest) - 1
    return f"{base}{safe[:room]}-{digest}"


def results_queue_name(prefix: str) -> str:
    return f"{prefix}{RESULTS_QUEUE_SUFFIX}"


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class TaskMessage(_Wire):
    """A task attempt handed to workers through its type's queue."""

    workflow_instance_id: str = Field(alias="workflowInstanceId")
    task_id: str = Field(alias="taskId")
    task_type: str = Field(alias="taskType")
    task_def_name: str = Field(alias="taskDefName")
    reference_task_name: str = Field(alias="referenceTaskName")
    retry_count: int = Field(0, alias="retryCount")
    input_data: dict[str, Any] = Field(default_factory=dict, alias="inputData")
    response_timeout_seconds: int = Field(0, alias="responseTimeoutSeconds")
    workflow_type: str | None = Field(None, alias="workflowType")
    correlation_id: str | None = Field(None, alias="correlationId")
    scheduled_time: int = Field(0, alias="scheduledTime")
    attempt: str | None = None
    """The attempt's record while it is held in its workflow's header (no item yet), opaque to workers:
    ``batonflow.sdk`` hands it back with the result, whose write then creates the item without a read."""


class ResultMessage(_Wire):
    """A worker's result for one attempt (Conductor's TaskResult plus when the worker picked it up)."""

    workflow_instance_id: str = Field(alias="workflowInstanceId")
    task_id: str = Field(alias="taskId")
    status: str
    output_data: dict[str, Any] = Field(default_factory=dict, alias="outputData")
    reason_for_incompletion: str | None = Field(None, alias="reasonForIncompletion")
    callback_after_seconds: int = Field(0, alias="callbackAfterSeconds")
    worker_id: str | None = Field(None, alias="workerId")
    logs: list[dict[str, Any]] = Field(default_factory=empty_list)
    extend_lease: bool = Field(False, alias="extendLease")
    start_time: int = Field(0, alias="startTime")
    attempt: str | None = None
    """The task message's ``attempt``, handed back."""


class DeciderReason(StrEnum):
    START = "start"
    TASK = "task"
    TIMER = "timer"
    SWEEP = "sweep"
    API = "api"
    RECOVER = "recover"
    """A decide outside the decider failed, perhaps after its commit: repeat what the commit left to do."""


class DeciderMessage(_Wire):
    """Ask the decider to look at a workflow again. Carries no state: the decider always reloads.

    ``taskIds`` name the attempts whose change caused the message; a large workflow is then decided from
    those attempts and what they lead to. An empty list means "look at everything".
    """

    workflow_id: str = Field(alias="workflowId")
    reason: DeciderReason = DeciderReason.TASK
    task_ids: list[str] = Field(default_factory=empty_list, alias="taskIds")
    large: bool = False
    """The sender knows the workflow is large (a named task's ``seq`` says so): read its header alone."""


class TimerKind(StrEnum):
    WAKE = "wake"  # send a DeciderMessage for workflow_id when due
    DISPATCH = "dispatch"  # send `task` to its task queue when due (delays over 15 minutes)
    ADMIT = "admit"  # when due, send `task` if its definition has a free slot (concurrentExecLimit `limit`)
    REVIEW = "review"  # when due, admit what waits for `definition`'s slots and reclaim slots left behind


class TimerMessage(_Wire):
    kind: TimerKind
    workflow_id: str = Field(alias="workflowId")
    due_at: int = Field(alias="dueAt")
    task: TaskMessage | None = None
    task_id: str | None = Field(None, alias="taskId")
    """For a WAKE timer set for one attempt's deadline: that attempt (the decide can look at it alone)."""
    definition: str | None = None
    limit: int | None = None
