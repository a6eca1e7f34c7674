"""Finding workflows by name or correlation id (REFERENCE §5.2), through the table's GSIs, never a Scan.

The indexes are eventually consistent: a workflow that started or changed status a moment ago may be
missing or listed under its former status. Correlated workflows are read again from the table (consistent
reads) before they are returned, so what they show is current; the id lists of ``running`` are not
re-checked (that would cost a read per id), like Conductor's own pending-workflow lists.
"""

from __future__ import annotations

from batonflow.model import Workflow, WorkflowStatus
from batonflow.service.runtime import Runtime


def running_workflow_ids(
    runtime: Runtime, name: str, version: int, start_time: int | None, end_time: int | None
) -> list[str]:
    """Ids of the RUNNING and PAUSED workflows of ``name`` and ``version``, oldest first; with both times,
    of every workflow of that version created in the window, whatever its status (as Conductor does)."""
    if start_time and end_time:
        return runtime.executions.workflow_ids_by_name(
            name, version, pending_only=False, created_between=(start_time, end_time)
        )
    return runtime.executions.workflow_ids_by_name(name, version, pending_only=True)


def correlated_workflows(
    runtime: Runtime, name: str, correlation_id: str, *, include_closed: bool, include_tasks: bool
) -> list[Workflow]:
    """The workflows of ``name`` started with ``correlation_id``, oldest first; without
    ``include_closed`` only RUNNING ones (a PAUSED workflow is left out too, as in Conductor)."""
    ids = runtime.executions.workflow_ids_by_correlation(
        name, correlation_id, running_only=not include_closed
    )
    workflows = []
    for workflow_id in ids:
        loaded = runtime.executions.load(workflow_id, include_tasks=include_tasks)
        if loaded is None:
            continue  # removed since the index was read
        if include_closed or loaded.header.workflow.status == WorkflowStatus.RUNNING:
            workflows.append(loaded.workflow)
    return sorted(workflows, key=lambda w: (w.create_time, w.workflow_id or ""))
