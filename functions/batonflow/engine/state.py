"""The input of one decide: a workflow execution with its tasks, as loaded from the store.

A decide may see the whole execution or only part of it. Large workflows (``LARGE_WORKFLOW_TASKS`` tasks
or more) are decided from a *partial* state: the header, the tasks a message names, and whatever else the
decide asks for. When the decider reaches for a task reference that was not loaded it raises
:class:`NeedTasks`; when it needs every task (to end the workflow, to check that nothing is left) it raises
:class:`NeedFull`. The executor loads what was asked and decides again from the start, so ``decide()``
stays a pure function of its input and never sees half an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from batonflow.model import TaskDef, Workflow

LARGE_WORKFLOW_TASKS = 50
"""From this many tasks on, a decide loads only what it needs and JOINs keep counters (join_counts.py)."""


@dataclass(frozen=True)
class JoinCount:
    """How many of a JOIN's ``joinOn`` tasks have not yet completed (kept on the workflow header).

    ``first_seq``/``last_seq`` bound the scheduling order of a dynamic fork's tasks: a dynamically forked
    task belongs to this JOIN when its first attempt's ``seq`` lies in that range (0/0 for a static fork).
    """

    reference: str
    remaining: int
    first_seq: int = 0
    last_seq: int = 0

    def holds(self, seq: int) -> bool:
        return self.first_seq <= seq <= self.last_seq and self.last_seq > 0


@dataclass(frozen=True)
class WorkflowState:
    workflow: Workflow
    """The execution, its definition snapshot (``workflow_definition``) and the loaded task attempts."""
    generation: int = 0
    """Bumped by a restart; part of every task id so a restarted run gets new ids."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """What ``${workflow.env.X}`` and ``${NETFLIX_ENV}`` may read: an allow-list, never os.environ."""
    loaded_references: frozenset[str] | None = None
    """None: every task is loaded. Otherwise the references whose attempts are all in ``workflow.tasks``."""
    focus: frozenset[str] = frozenset()
    """For a partial decide: the attempts whose change caused it (a message names them)."""
    last_seq: int = 0
    """The highest ``seq`` given to a task so far (the header keeps it; needed when not all are loaded)."""
    first_seq: int = 0
    """The ``seq`` the current run began at: a restart leaves the earlier run's attempts below it."""
    wake_at: int | None = None
    """The header's pending wake-up, kept when a partial decide cannot see every deadline."""
    joins: Mapping[str, JoinCount] = field(default_factory=dict)
    """Counters of open JOINs by JOIN task id (large workflows only)."""
    counted: frozenset[str] = frozenset()
    """Ids of the task attempts already counted in ``joins``."""
    registry: Mapping[str, TaskDef | None] | None = None
    """Registered TaskDefs looked up by name for this decide (None: not registered). ``None`` as a whole:
    no registry at hand, so a task whose name the definition snapshot does not know runs without a def."""

    @property
    def partial(self) -> bool:
        return self.loaded_references is not None


class NeedMoreState(Exception):
    """A partial decide needs more of the execution: the executor loads it and decides again."""


class NeedTasks(NeedMoreState):
    def __init__(self, references: Iterable[str]) -> None:
        self.references = frozenset(references)
        super().__init__(f"needs tasks {sorted(self.references)[:5]}")


class NeedFull(NeedMoreState):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"needs the whole workflow: {reason}")


class NeedTaskDefs(NeedMoreState):
    """The decide met task names (a dynamic fork's) whose registered TaskDefs it has not been given."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        super().__init__(f"needs task definitions {sorted(self.names)[:5]}")
