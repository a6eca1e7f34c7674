"""The working set of one decide: the tasks as the decider sees them, and what it changed.

Operators and decider steps read and change tasks only through :class:`Decision`, which records every new
task and every change (with the status it replaced, for the executor's conditional write) and turns them into
a :class:`~batonflow.engine.plan.Plan` at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
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
from batonflow.engine.state import JoinCount, NeedFull, NeedTaskDefs, NeedTasks, WorkflowState
from batonflow.model import Task, TaskDef, TaskStatus, Workflow, WorkflowDef, WorkflowStatus, WorkflowTask

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
        self._removed: list[str] = []
        self._document: dict[str, Any] = build_document(self.workflow, self._tasks.values())
        self._by_reference: dict[str, list[str]] = {}
        for task in self._tasks.values():
            self._by_reference.setdefault(task.reference_task_name, []).append(task.task_id)
        self._ordered: list[Task] | None = None
        self._ending: WorkflowChange | None = None
        self._reopening: WorkflowChange | None = None
        self._variables_changed = False
        self._next_seq = max(max((t.seq for t in state.workflow.tasks), default=0), state.last_seq) + 1
        self.partial = state.partial
        self._known: set[str] = set(state.loaded_references or ())
        self.joins: dict[str, JoinCount] = dict(state.joins)
        self.counted: set[str] = set(state.counted)
        self._newly_counted: list[str] = []
        self.input_overrides: dict[str, dict[str, Any]] = {}
        """Task id -> the ``inputData`` that attempt gets instead of its resolved input (a rerun's
        ``taskInput``)."""

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

    def all_tasks(self, why: str) -> list[Task]:
        """Every attempt; a partial decide asks for the whole workflow first (``why`` says what for)."""
        if self.partial:
            raise NeedFull(why)
        return self.tasks()

    def require(self, references: Iterable[str], *, by_name: bool = False) -> None:
        """Make sure these references are loaded (a partial decide asks for all the missing ones at once).

        Loop iterations collapse onto one name in the document, so those need the whole workflow; so does
        a name an expression reads (``by_name``) that is no task of the definition (a dynamic fork's
        task, or no task at all).
        """
        if not self.partial:
            return
        missing = [r for r in references if r not in self._known]
        if not missing:
            return
        for reference in missing:
            base = base_reference(reference)
            if base != reference or self.index.in_loop(base):
                raise NeedFull(f"reference {reference} in a loop")
            if by_name and self.index.slot(reference) is None:
                raise NeedFull(f"an expression reads {reference}")
        raise NeedTasks(missing)

    def registered_task_defs(self, names: Iterable[str]) -> dict[str, TaskDef]:
        """The registered TaskDefs of these names, from the registry the executor looked up (asking it
        for the names it has not looked up yet); empty without a registry."""
        registry = self.state.registry
        if registry is None:
            return {}
        missing = {name for name in names if name not in registry}
        if missing:
            raise NeedTaskDefs(missing)
        return {name: task_def for name in names if (task_def := registry[name]) is not None}

    @property
    def last_seq(self) -> int:
        """The highest ``seq`` given out so far, this decide included."""
        return self._next_seq - 1

    def new_tasks(self) -> list[Task]:
        """The attempts this decide created."""
        return [self._tasks[i] for i in self._new]

    def is_fresh(self) -> bool:
        """Nothing was scheduled in this run yet (a partial state always has a history)."""
        return not self._tasks and self._next_seq - 1 < max(self.state.first_seq, 1)

    def tasks_for(self, reference_name: str) -> list[Task]:
        self.require((reference_name,))
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

    def to_advance(self) -> Iterator[Task]:
        """The current attempts a pass advances. A partial decide skips the finished attempts it loaded
        only to read them (an input's ``${ref...}``, a successor that may exist): whatever follows them was
        handled when they finished, and advancing them would load their successors in turn."""
        for task in self.latest_attempts():
            if (
                not self.partial
                or not task.status.is_terminal
                or task.status == TaskStatus.SKIPPED  # a skip placeholder hands over when the flow meets it
                or task.task_id in self.state.focus
                or task.task_id in self._new
                or task.task_id in self._changed
            ):
                yield task

    def operator_of(self, task: Task) -> Operator:
        return self.operators(task.workflow_task.type if task.workflow_task else task.task_type or "")

    def document(self) -> Mapping[str, Any]:
        """What ``${...}`` reads; kept up to date as tasks are added and changed (never rebuilt)."""
        return _PartialDocument(self) if self.partial else self._document

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
        self._known.add(task.reference_task_name)
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

    def remove_tasks(self, task_ids: Iterable[str]) -> None:
        """Forget attempts for good (DO_WHILE ``keepLastN``): the rest of this decide no longer sees them,
        stored ones are deleted after the commit, ones created in this decide are never written."""
        for task_id in task_ids:
            task = self._tasks.pop(task_id, None)
            if task is None:
                continue
            if task_id in self._stored:
                self._removed.append(task_id)
            if task_id in self._new:
                self._new.remove(task_id)
            if task_id in self._changed:
                self._changed.remove(task_id)
            self._dispatch_delays.pop(task_id, None)
            attempts = self._by_reference[task.reference_task_name]
            attempts.remove(task_id)
            if not attempts:
                del self._by_reference[task.reference_task_name]
            self._ordered = None
            self._forget_in_document(task)

    def _forget_in_document(self, removed: Task) -> None:
        """If the document showed ``removed``, show the reference's latest remaining attempt instead."""
        key = base_reference(removed.reference_task_name)
        if self._document.get(key, {}).get("taskId") != removed.task_id:
            return
        remaining = [t for t in self._tasks.values() if base_reference(t.reference_task_name) == key]
        if remaining:
            self._document[key] = task_document(max(remaining, key=lambda t: t.seq))
        else:
            del self._document[key]

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

    def reopen(self, change: WorkflowChange) -> None:
        """Record that a finished workflow runs again (a retry): its status and times change, and the
        tasks created after this see it RUNNING."""
        self._reopening = change
        self.workflow = self.workflow.model_copy(
            update={"status": change.status, "reason_for_incompletion": None}
        )
        self._document["workflow"] = workflow_document(self.workflow)

    @property
    def ending_status(self) -> WorkflowStatus | None:
        return self._ending.status if self._ending else None

    def count_for_join(self, join_task_id: str, task: Task) -> JoinCount:
        """Count a completed ``joinOn`` attempt toward its JOIN, once (the executor stamps the attempt)."""
        count = self.joins[join_task_id]
        if task.task_id not in self.counted:
            self.counted.add(task.task_id)
            self._newly_counted.append(task.task_id)
            count = JoinCount(count.reference, count.remaining - 1, count.first_seq, count.last_seq)
            self.joins[join_task_id] = count
        return count

    def set_joins(self, joins: dict[str, JoinCount], counted: Iterable[str]) -> None:
        """Replace the JOIN counters (a full decide recounts them) and the attempts they counted."""
        self.joins = joins
        for task_id in counted:
            if task_id not in self.counted:
                self.counted.add(task_id)
                self._newly_counted.append(task_id)

    def note(self, text: str) -> None:
        self._notes.append(text)

    def plan(self, wake_at: int | None = None) -> Plan:
        change = self._ending or self._reopening
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
            removed_tasks=tuple(self._removed),
            last_seq=self._next_seq - 1,
            joins=None if self.joins == self.state.joins else dict(self.joins),
            counted=tuple(self._newly_counted),
        )


class _PartialDocument(Mapping[str, Any]):
    """The document of a partial decide: reading a reference that is not loaded asks for it."""

    def __init__(self, decision: Decision) -> None:
        self._decision = decision

    def __getitem__(self, key: str) -> Any:
        if key not in self:
            raise KeyError(key)
        return self._decision._document[key]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str) or key == "workflow":
            return key == "workflow"
        self._decision.require((key,), by_name=True)
        return key in self._decision._document

    def __iter__(self) -> Iterator[str]:
        raise NeedFull("an expression reads every task")

    def __len__(self) -> int:
        raise NeedFull("an expression reads every task")
