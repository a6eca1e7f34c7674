"""The working set of one decide: the tasks as the decider sees them, and what it changed.

Operators and decider steps read and change tasks only through :class:`Decision`, which records every new
task and every change (with the status it replaced, for the executor's conditional write) and turns them into
a :class:`~batonflow.engine.plan.Plan` at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from batonflow.engine.definition_index import DefinitionIndex
from batonflow.engine.document import (
    LOOP_SUFFIX,
    base_reference,
    build_document,
    task_document,
    workflow_document,
)
from batonflow.engine.ids import task_id_for
from batonflow.engine.plan import ChildStart, Dispatch, FailureWorkflowStart, Plan, TaskChange, WorkflowChange
from batonflow.engine.state import WorkflowState
from batonflow.model import Task, TaskStatus, Workflow, WorkflowDef, WorkflowStatus, WorkflowTask

if TYPE_CHECKING:
    from batonflow.engine.operators.base import Operator

OperatorLookup = Callable[[str], "Operator"]


def loop_reference(reference_name: str, iteration: int) -> str:
    """A reference name in a loop iteration: ``ref__N`` (N >= 1), plain ``ref`` outside loops."""
    return f"{reference_name}{LOOP_SUFFIX}{iteration}" if iteration > 0 else reference_name


def reference_for(workflow_task: WorkflowTask, iteration: int) -> str:
    return loop_reference(workflow_task.task_reference_name, iteration)


class Decision:
    def __init__(self, state: WorkflowState, now: int, operators: OperatorLookup) -> None:
        self.state = state
        self.now = now
        self.operators = operators
        self.workflow: Workflow = state.workflow
        definition = state.workflow.workflow_definition
        if definition is None:
            raise ValueError(f"workflow {state.workflow.workflow_id} has no definition snapshot")
        self.definition: WorkflowDef = definition
        self.index = DefinitionIndex(definition)
        self._tasks: dict[str, Task] = {t.task_id: t for t in state.workflow.tasks}
        self._stored: dict[str, Task] = dict(self._tasks)
        for task in state.workflow.tasks:
            if (
                task.workflow_task is not None
                and self.index.slot(task.workflow_task.task_reference_name) is None
            ):
                self.index.add_dynamic(task.workflow_task)
        self._new: list[str] = []
        self._changed: list[str] = []
        self._dispatch_delays: dict[str, int] = {}
        self._children: list[ChildStart] = []
        self._failure_workflow: FailureWorkflowStart | None = None
        self._notes: list[str] = []
        self._document: dict[str, Any] = build_document(self.workflow, self._tasks.values())
        self._by_reference: dict[str, list[str]] = {}
        for task in self._tasks.values():
            self._by_reference.setdefault(task.reference_task_name, []).append(task.task_id)
        self._ordered: list[Task] | None = None
        self._ending: WorkflowChange | None = None
        self._variables_changed = False
        self._next_seq = max((t.seq for t in state.workflow.tasks), default=0) + 1

    # -- reading -------------------------------------------------------------------------------------
    def tasks(self) -> list[Task]:
        """All task attempts in scheduling order."""
        if self._ordered is None:
            self._ordered = sorted(self._tasks.values(), key=lambda t: t.seq)
        return list(self._ordered)

    def task(self, task_id: str) -> Task:
        return self._tasks[task_id]

    def has_task(self, task_id: str) -> bool:
        return task_id in self._tasks

    def tasks_for(self, reference_name: str) -> list[Task]:
        attempts = [self._tasks[i] for i in self._by_reference.get(reference_name, ())]
        return sorted(attempts, key=lambda t: t.seq)

    def latest(self, reference_name: str) -> Task | None:
        """The current attempt of a reference name (highest retry count), if it was ever scheduled."""
        attempts = self.tasks_for(reference_name)
        return max(attempts, key=lambda t: (t.retry_count, t.seq)) if attempts else None

    def latest_attempts(self) -> Iterator[Task]:
        """The current attempt of every reference name, in scheduling order."""
        latest = (self.latest(reference) for reference in self._by_reference)
        yield from sorted((t for t in latest if t is not None), key=lambda t: t.seq)

    def operator_of(self, task: Task) -> Operator:
        return self.operators(task.workflow_task.type if task.workflow_task else task.task_type or "")

    def document(self) -> dict[str, Any]:
        """What ``${...}`` reads; kept up to date as tasks are added and changed (never rebuilt)."""
        return self._document

    def _track(self, task: Task) -> None:
        """Keep the document current: a reference reads the attempt scheduled last (highest seq)."""
        key = base_reference(task.reference_task_name)
        shown = self._document.get(key)
        if (
            shown is None
            or shown.get("taskId") == task.task_id
            or self._tasks[shown["taskId"]].seq < task.seq
        ):
            self._document[key] = task_document(task)
        self._ordered = None

    @property
    def ended(self) -> bool:
        return self._ending is not None

    # -- writing -------------------------------------------------------------------------------------
    def new_task_id(self, reference_name: str, retry_count: int) -> str:
        return task_id_for(self.workflow.workflow_id, self.state.generation, reference_name, retry_count)

    def allocate_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def schedule(self, workflow_task: WorkflowTask, iteration: int) -> bool:
        """Schedule a WorkflowTask reached by the flow, unless its reference already has an execution
        or the workflow has ended in this decide."""
        if self.ended or self.tasks_for(reference_for(workflow_task, iteration)):
            return False
        return bool(self.operators(workflow_task.type).schedule(self, workflow_task, iteration))

    def add_task(self, task: Task, *, dispatch_delay_seconds: int | None = None) -> bool:
        """Add a new attempt; False (and nothing recorded) if that attempt already exists."""
        if task.task_id in self._tasks:
            return False
        self._tasks[task.task_id] = task
        self._new.append(task.task_id)
        self._by_reference.setdefault(task.reference_task_name, []).append(task.task_id)
        self._track(task)
        if dispatch_delay_seconds is not None:
            self._dispatch_delays[task.task_id] = dispatch_delay_seconds
        return True

    def update_task(self, task: Task) -> None:
        """Replace an attempt's state (a new one stays new; a stored one becomes a conditional change)."""
        self._tasks[task.task_id] = task
        if task.task_id not in self._new and task.task_id not in self._changed:
            self._changed.append(task.task_id)
        self._track(task)

    def start_child(self, child: ChildStart) -> None:
        self._children.append(child)

    def start_failure_workflow(self, start: FailureWorkflowStart) -> None:
        self._failure_workflow = start

    def set_variables(self, values: dict[str, Any]) -> None:
        self.workflow = self.workflow.model_copy(update={"variables": {**self.workflow.variables, **values}})
        self._variables_changed = True
        self._document["workflow"] = workflow_document(self.workflow)

    def end(self, change: WorkflowChange) -> None:
        """Record how the workflow ends (status, output, reason); the first ending wins."""
        if self._ending is None:
            self._ending = change
            self.workflow = self.workflow.model_copy(update={"status": change.status})
            self._document["workflow"] = workflow_document(self.workflow)

    @property
    def ending_status(self) -> WorkflowStatus | None:
        return self._ending.status if self._ending else None

    def note(self, text: str) -> None:
        self._notes.append(text)

    def plan(self, wake_at: int | None = None) -> Plan:
        change = self._ending
        if self._variables_changed:
            change = (change or WorkflowChange()).with_variables(self.workflow.variables)
        return Plan(
            new_tasks=tuple(self._tasks[i] for i in self._new),
            task_changes=tuple(
                TaskChange(self._tasks[i], self._stored[i].status)
                for i in self._changed
                if self._tasks[i] != self._stored[i]
            ),
            workflow=change,
            dispatches=tuple(
                Dispatch(self._tasks[i], delay)
                for i, delay in self._dispatch_delays.items()
                if self._tasks[i].status == TaskStatus.SCHEDULED
            ),
            children=tuple(self._children),
            failure_workflow=self._failure_workflow,
            wake_at=None if self._ending else wake_at,
            notes=tuple(self._notes),
        )
