"""Deterministic ids.

A task attempt's id is its workflow's id, a ``-`` and the 32 hex digits of a name-based UUID of (workflow
id, run generation, reference name, attempt): ``<workflowId>-<32 hex>``. Deciding twice over the same
state therefore creates the same ids, so a duplicate decider message or a decide retried after a lost race
writes nothing new (the store's ``attribute_not_exists`` put is a no-op). The generation changes when a
workflow is restarted, which Conductor answers with all-new task ids.

The task id names its workflow so that a bare task id (``GET /api/tasks/{taskId}``, its logs, a task search
by ``taskId``) leads straight to the task's item, ``T#<taskId>`` in the partition ``WF#<workflowId>``,
without a GSI from task id to workflow: such an index cost a second write unit on every task attempt's
creation. :func:`workflow_id_of` reads the workflow id back. The parse is unambiguous whatever the workflow
id holds (ours are always UUID strings, ``uuid4`` or name-based ``uuid5`` for idempotent starts and
sub-workflows, and a restart, retry or rerun keeps the id): the suffix never contains ``-``, so the workflow
id is everything before the last ``-``. A string whose last ``-``-separated part is not exactly 32 lowercase
hex digits (an older bare UUID task id, whose last group has 12, or junk) names no workflow.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5f1d1d6e-3b43-4b8e-9a53-5a8f3a1b7c21")
_SUFFIX_LENGTH = 32
_HEX_DIGITS = frozenset("0123456789abcdef")


def task_id_for(workflow_id: str, generation: int, reference_name: str, retry_count: int) -> str:
    digest = uuid.uuid5(_NAMESPACE, f"{workflow_id}:{generation}:{reference_name}:{retry_count}")
    return f"{workflow_id}-{digest.hex}"


def workflow_id_of(task_id: str) -> str | None:
    """The workflow id a task id made by :func:`task_id_for` names; None for any other string."""
    workflow_id, separator, suffix = task_id.rpartition("-")
    if not (workflow_id and separator and len(suffix) == _SUFFIX_LENGTH and _HEX_DIGITS.issuperset(suffix)):
        return None
    return workflow_id


def new_workflow_id() -> str:
    return str(uuid.uuid4())
