"""The input of one decide: a workflow execution with its tasks, as loaded from the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from batonflow.model import Workflow


@dataclass(frozen=True)
class WorkflowState:
    workflow: Workflow
    """The execution, its definition snapshot (``workflow_definition``) and all task attempts (``tasks``)."""
    generation: int = 0
    """Bumped by a restart; part of every task id so a restarted run gets new ids."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """What ``${workflow.env.X}`` and ``${NETFLIX_ENV}`` may read: an allow-list, never os.environ."""
