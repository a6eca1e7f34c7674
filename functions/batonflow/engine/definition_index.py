"""Where each WorkflowTask sits in a definition, and what comes after it (REFERENCE §3.2 step 5).

Every task lives in a list: the top level, a SWITCH/DECISION case, a fork branch or a loop body. Within a
list the successor is the next entry. At the end of a nested list the containing operator decides what
comes next (``Operator.after_branch``): a SWITCH continues after itself, a fork waits for its JOIN, a loop
evaluates its condition. Built once per decide: one walk over the definition, far less than the I/O around
a decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from batonflow.model import TaskType, WorkflowDef, WorkflowTask

DYNAMIC_FORK_BRANCH = WorkflowTask(name="FORK", task_reference_name="", type=TaskType.FORK_JOIN_DYNAMIC)
"""Container of the tasks a dynamic fork created: like a static fork, its branches end at the JOIN."""


@dataclass(frozen=True)
class Slot:
    task: WorkflowTask
    siblings: tuple[WorkflowTask, ...]
    position: int
    container: WorkflowTask | None
    """The SWITCH, fork or loop whose child list holds this task; None at the top level."""


class DefinitionIndex:
    def __init__(self, definition: WorkflowDef) -> None:
        self.definition = definition
        self._slots: dict[str, Slot] = {}
        self._looped: set[str] = set()
        self._awaited_by: dict[str, list[WorkflowTask]] = {}
        self._add_list(tuple(definition.tasks), None)

    def _add_list(self, tasks: tuple[WorkflowTask, ...], container: WorkflowTask | None) -> None:
        for position, task in enumerate(tasks):
            self._slots[task.task_reference_name] = Slot(task, tasks, position, container)
            if container is not None and (
                container.type == TaskType.DO_WHILE or container.task_reference_name in self._looped
            ):
                self._looped.add(task.task_reference_name)
            for awaited in (*task.join_on, *(task.default_exclusive_join_task or ())):
                self._awaited_by.setdefault(awaited, []).append(task)
            for branch in task.children():
                self._add_list(tuple(branch), task)

    def add_dynamic(self, task: WorkflowTask) -> None:
        """Register a task created at run time (a dynamic fork's branch) as a one-task branch of a fork."""
        self._slots.setdefault(task.task_reference_name, Slot(task, (task,), 0, DYNAMIC_FORK_BRANCH))

    def slot(self, reference_name: str) -> Slot | None:
        return self._slots.get(reference_name)

    def get(self, reference_name: str) -> WorkflowTask | None:
        slot = self._slots.get(reference_name)
        return slot.task if slot else None

    def in_loop(self, reference_name: str) -> bool:
        """Whether the task runs inside a DO_WHILE body (its executions are ``ref__N``)."""
        return reference_name in self._looped

    def awaited_by(self, reference_name: str) -> list[WorkflowTask]:
        """The JOINs (and EXCLUSIVE_JOINs) of the definition whose ``joinOn`` names this reference."""
        return self._awaited_by.get(reference_name, [])

    def first(self) -> WorkflowTask | None:
        return self.definition.tasks[0] if self.definition.tasks else None

    def top_level(self) -> tuple[WorkflowTask, ...]:
        return tuple(self.definition.tasks)

    def next_in_list(self, reference_name: str) -> WorkflowTask | None:
        """The task after ``reference_name`` in its own list, or None at the end of the list."""
        slot = self._slots.get(reference_name)
        if slot is None or slot.position + 1 >= len(slot.siblings):
            return None
        return slot.siblings[slot.position + 1]
