"""Deterministic ids.

A task attempt's id is a name-based UUID of (workflow id, run generation, reference name, attempt). Deciding
twice over the same state therefore creates the same ids, so a duplicate decider message or a decide retried
after a lost race writes nothing new (the store's ``attribute_not_exists`` put is a no-op). The generation
changes when a workflow is restarted, which Conductor answers with all-new task ids.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5f1d1d6e-3b43-4b8e-9a53-5a8f3a1b7c21")


def task_id_for(workflow_id: str, generation: int, reference_name: str, retry_count: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{workflow_id}:{generation}:{reference_name}:{retry_count}"))


def new_workflow_id() -> str:
    return str(uuid.uuid4())
