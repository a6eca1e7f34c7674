"""The working set of one decide: the tasks as the decider sees them, and what it changed.

Operators and decider steps read and change tasks only through :class:`Decision`, which records every new
task and every change (with the status it replaced, for the executor's conditional write) and turns them into
a :class:`~batonflow.engine.plan.Plan` at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from batonflow.engine.definition_index import DefinitionIndex
from batonflow.engine.document import build_document
from batonflow.engine.ids import task_id_for
from batonflow.engine.plan import Dispatch, Plan, TaskChange, WorkflowChange
from batonflow.engine.state import WorkflowState
from batonflow.model import Task, TaskStatus, Workflow, WorkflowDef


class Decision:
    def __init__(self, state: WorkflowState, now: int) -> None:
        self.state = state
        self.now = now
        self.workflow: Workflow = state.workflow
        definition = state.workflow.workflow_definition
        if definition is None:
            raise ValueError(f"workflow {state.workflow.workflow_id} has no definition snapshot")
        self.definition: WorkflowDef = definition
        self.index = DefinitionIndex(definition)
        self._tasks: dict[str, Task] = {t.task_id: t for t in state.workflow.tasks}
        self._stored: dict[str, Task] = {t.task_id: t for t in state.workflow.tasks}
        self._new: list[str] = []
        self._changed: list[str] = []
        self._dispatch_delays: dict[str, int] = {}
        self._notes: list[str] = []
        self._document: dict[str, Any] | None = None
        self.workflow_change: WorkflowChange | None = None
        self._next_seq = max((t.seq for t in state.workflow.tasks), default=0) + 1

    # -- reading -------------------------------------------------------------------------------------
    def tasks(self) -> list[Task]:
        """All task attempts in scheduling order."""
        return sorted(self._tasks.values(), key=lambda t: t.seq)

    def task(self, task_id: str) -> Task:
        return self._tasks[task_id]

    def has_task(self, task_id: str) -> bool:
        return task_id in self._tasks

    def tasks_for(self, reference_name: str) -> list[Task]:
        return [t for t in self.tasks() if t.reference_task_name == reference_name]

    def latest_attempts(self) -> Iterator[Task]:
        """The current attempt of every reference name, in scheduling order."""
        latest: dict[str, Task] = {}
        for task in self.tasks():
            current = latest.get(task.reference_task_name)
            if current is None or (task.retry_count, task.seq) > (current.retry_count, current.seq):
                latest[task.reference_task_name] = task
        yield from sorted(latest.values(), key=lambda t: t.seq)

    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = build_document(self.workflow, self._tasks.values())
        return self._document

    @property
    def ended(self) -> bool:
        return self.workflow_change is not None and self.workflow_change.status is not None

    # -- writing -------------------------------------------------------------------------------------
    def new_task_id(self, reference_name: str, retry_count: int) -> str:
        return task_id_for(self.workflow.workflow_id, self.state.generation, reference_name, retry_count)

    def allocate_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def add_task(self, task: Task, *, dispatch_delay_seconds: int | None = None) -> bool:
        """Add a new attempt; False (and nothing recorded) if that attempt already exists."""
        if task.task_id in self._tasks:
            return False
        self._tasks[task.task_id] = task
        self._new.append(task.task_id)
        self._document = None
        if dispatch_delay_seconds is not None:
            self._dispatch_delays[task.task_id] = dispatch_delay_seconds
        return True

    def update_task(self, task: Task) -> None:
        """Replace an attempt's state (a new one stays new; a stored one becomes a conditional change)."""
        self._tasks[task.task_id] = task
        if task.task_id not in self._new and task.task_id not in self._changed:
            self._changed.append(task.task_id)
        self._document = None

    def change_workflow(self, change: WorkflowChange) -> None:
        self.workflow_change = change

    def note(self, text: str) -> None:
        self._notes.append(text)

    def plan(self, wake_at: int | None = None) -> Plan:
        return Plan(
            new_tasks=tuple(self._tasks[i] for i in self._new),
            task_changes=tuple(
                TaskChange(self._tasks[i], self._stored[i].status)
                for i in self._changed
                if self._tasks[i] != self._stored[i]
            ),
            workflow=self.workflow_change,
            dispatches=tuple(
                Dispatch(self._tasks[i], delay)
                for i, delay in self._dispatch_delays.items()
                if self._tasks[i].status == TaskStatus.SCHEDULED
            ),
            wake_at=wake_at,
            notes=tuple(self._notes),
        )
