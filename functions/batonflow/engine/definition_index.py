"""Where each WorkflowTask sits in a definition, and what comes after it (REFERENCE §3.2 step 5).

Built once per decide: it costs one walk over the definition, far less than the I/O around a decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from batonflow.model import WorkflowDef, WorkflowTask


@dataclass(frozen=True)
class _Slot:
    task: WorkflowTask
    siblings: tuple[WorkflowTask, ...]
    position: int
    top_level: bool


class DefinitionIndex:
    def __init__(self, definition: WorkflowDef) -> None:
        self.definition = definition
        self._slots: dict[str, _Slot] = {}
        self._add_list(tuple(definition.tasks), top_level=True)

    def _add_list(self, tasks: tuple[WorkflowTask, ...], *, top_level: bool) -> None:
        for position, task in enumerate(tasks):
            self._slots[task.task_reference_name] = _Slot(task, tasks, position, top_level)
            for branch in task.decision_cases.values():
                self._add_list(tuple(branch), top_level=False)
            if task.default_case:
                self._add_list(tuple(task.default_case), top_level=False)
            for branch in task.fork_tasks:
                self._add_list(tuple(branch), top_level=False)
            if task.loop_over:
                self._add_list(tuple(task.loop_over), top_level=False)

    def get(self, reference_name: str) -> WorkflowTask | None:
        slot = self._slots.get(reference_name)
        return slot.task if slot else None

    def first(self) -> WorkflowTask | None:
        return self.definition.tasks[0] if self.definition.tasks else None

    def top_level(self) -> tuple[WorkflowTask, ...]:
        return tuple(self.definition.tasks)

    def next_after(self, reference_name: str) -> WorkflowTask | None:
        """The task that follows ``reference_name`` in its own list, or None at the end of the list.

        What happens at the end of a nested list (after a SWITCH branch, a fork branch, a loop body)
        is the containing operator's decision, not this index's.
        """
        slot = self._slots.get(reference_name)
        if slot is None or slot.position + 1 >= len(slot.siblings):
            return None
        return slot.siblings[slot.position + 1]
