"""What one decide wants done, as data. The executor (``batonflow.service.executor``) applies it.

A plan never reads anything and never partially applies: the executor writes new task items and task
changes first (each a conditional write), then commits the workflow header with a version check. If the
commit loses a race, the executor reloads and decides again; the already-written task items are valid
states on their own (deterministic task ids make re-creating them a no-op).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from batonflow.engine.state import JoinCount
from batonflow.model import Task, TaskStatus, WorkflowDef, WorkflowStatus


@dataclass(frozen=True)
class TaskChange:
    """Replace the stored mutable state of ``task`` if it is still in ``expected_status``."""

    task: Task
    expected_status: TaskStatus


@dataclass(frozen=True)
class Dispatch:
    """Hand a task attempt to its worker queue after ``delay_seconds``."""

    task: Task
    delay_seconds: int = 0


@dataclass(frozen=True)
class WorkflowChange:
    """New values for the workflow header. ``None`` means unchanged."""

    status: WorkflowStatus | None = None
    output: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None
    reason_for_incompletion: str | None = None
    end_time: int | None = None
    failed_reference_task_names: tuple[str, ...] | None = None
    failed_task_names: tuple[str, ...] | None = None
    last_retried_time: int | None = None
    clear_reason: bool = False
    """Remove the reason for incompletion (a retried workflow runs again)."""

    def with_variables(self, variables: dict[str, Any]) -> WorkflowChange:
        return replace(self, variables=variables)


@dataclass(frozen=True)
class ChildStart:
    """Start a workflow on behalf of a task (SUB_WORKFLOW child, START_WORKFLOW target).

    The executor creates it after the commit, idempotently (the id is fixed here), and reports back into
    the task like a worker would.
    """

    task: Task
    workflow_id: str
    request: dict[str, Any]
    """A StartWorkflowRequest as Conductor JSON (name, version, input, workflowDef, correlationId, ...)."""
    is_child: bool = True
    """SUB_WORKFLOW (parent link, the child's end completes the task) vs START_WORKFLOW (fire and forget)."""


@dataclass(frozen=True)
class FailureWorkflowStart:
    """Start the definition's ``failureWorkflow`` for a workflow that just failed (REFERENCE §3.9)."""

    workflow_id: str
    request: dict[str, Any]


@dataclass(frozen=True)
class Superseded:
    """The attempts a rerun from a task discarded: those scheduled from the target on (``seq`` from
    ``from_seq`` to ``to_seq``, the last of the run it ended) and the earlier attempts of the target's
    reference. Recorded on the header, so they stay out of the workflow even if their deletion after the
    commit is interrupted (the next commit deletes what is left)."""

    from_seq: int
    to_seq: int
    reference: str

    def covers(self, task: Task) -> bool:
        return task.seq <= self.to_seq and (
            task.seq >= self.from_seq or task.reference_task_name == self.reference
        )


@dataclass(frozen=True)
class NewRun:
    """A restart or rerun: the execution goes on under a new generation (new task ids); the attempts of an
    earlier run (``seq`` below ``first_seq``) no longer belong to it and are deleted after the commit."""

    generation: int
    first_seq: int
    create_time: int
    definition: WorkflowDef | None = None
    """The definition snapshot to run from now on (``useLatestDefinitions``); None keeps the current one."""
    input: dict[str, Any] | None = None
    """The workflow input from now on (a rerun's ``workflowInput``); None keeps it."""
    correlation_id: str | None = None
    """The correlation id from now on (a rerun's ``correlationId``); None keeps it."""
    superseded: Superseded | None = None
    """A rerun from a task: the attempts it discards from the run it keeps."""


@dataclass(frozen=True)
class Plan:
    new_tasks: tuple[Task, ...] = ()
    task_changes: tuple[TaskChange, ...] = ()
    workflow: WorkflowChange | None = None
    dispatches: tuple[Dispatch, ...] = ()
    children: tuple[ChildStart, ...] = ()
    failure_workflow: FailureWorkflowStart | None = None
    wake_at: int | None = None
    """The earliest moment a deadline of this workflow can pass (epoch ms), or None."""
    notes: tuple[str, ...] = field(default=())
    """Human-readable log lines (timeouts detected, retries scheduled), for the executor to log."""
    removed_tasks: tuple[str, ...] = ()
    """Ids of stored task attempts to delete for good (DO_WHILE ``keepLastN``), after the header commit."""
    last_seq: int = 0
    """The highest task ``seq`` after this plan (kept on the header)."""
    joins: dict[str, JoinCount] | None = None
    """The JOIN counters after this plan; None means unchanged."""
    counted: tuple[str, ...] = ()
    """Attempts this plan counts toward a JOIN: stamped before the commit so they are never counted twice."""
    new_run: NewRun | None = None

    @property
    def ends(self) -> bool:
        """Whether this plan finishes the workflow (any terminal status)."""
        status = self.workflow.status if self.workflow is not None else None
        return status is not None and status.is_terminal

    @property
    def is_empty(self) -> bool:
        return not (
            self.new_tasks
            or self.task_changes
            or self.workflow
            or self.dispatches
            or self.children
            or self.failure_workflow
            or self.removed_tasks
            or self.joins is not None
            or self.counted
            or self.new_run
        )
