"""Signals (``POST /api/tasks/{workflowId}/{status}/signal[/sync]``, REFERENCE §5.3): complete whatever
blocks a workflow without naming it.

The target is the first unfinished WAIT of the workflow in scheduling order; when the workflow has none,
each running SUB_WORKFLOW's child is searched the same way, depth first. The update itself is the one the
by-reference endpoint applies (the body merged into the task's output), so duplicates change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batonflow.errors import NotFoundError
from batonflow.model import Task, TaskType, Workflow
from batonflow.service.executing import workflow_run
from batonflow.service.runtime import Runtime
from batonflow.service.tasks import ResultOutcome, apply_to_reference, parse_status, wait_for_decide
from batonflow.store.executions import LoadedWorkflow

_MAX_DEPTH = 16


@dataclass(frozen=True)
class Blocked:
    workflow: Workflow
    task: Task


def blocked_task(runtime: Runtime, workflow: Workflow, depth: int = 0) -> Blocked | None:
    """The WAIT that blocks ``workflow`` or one of its running sub-workflows, if any."""
    open_tasks = sorted((t for t in workflow.tasks if not t.status.is_terminal), key=lambda t: t.seq)
    for task in open_tasks:
        if task.task_type == TaskType.WAIT:
            return Blocked(workflow, task)
    if depth >= _MAX_DEPTH:
        return None
    for task in open_tasks:
        if task.task_type == TaskType.SUB_WORKFLOW and task.sub_workflow_id:
            child = runtime.executions.load(task.sub_workflow_id)
            if child is not None and not child.workflow.status.is_terminal:
                found = blocked_task(runtime, child.workflow, depth + 1)
                if found is not None:
                    return found
    return None


def signal(runtime: Runtime, workflow_id: str, status: str, output: dict[str, Any]) -> ResultOutcome | None:
    """Apply ``status`` to the blocking WAIT; None if nothing blocks the workflow (Conductor answers 200
    either way). NotFoundError for an unknown workflow."""
    return _signal(runtime, _load(runtime, workflow_id).workflow, status, output)


def signal_sync(runtime: Runtime, workflow_id: str, status: str, output: dict[str, Any]) -> dict[str, Any]:
    """As :func:`signal`, then answer the signalled workflow's run once it has been decided (at most
    ``SYNC_WAIT_S``). NotFoundError when nothing blocks it."""
    loaded = _load(runtime, workflow_id)
    if _signal(runtime, loaded.workflow, status, output) is None:
        raise NotFoundError(f"Found no blocked task in workflow {workflow_id} to signal")
    wait_for_decide(runtime, workflow_id, loaded.header.version)
    after = runtime.executions.load(workflow_id)
    return workflow_run((after or loaded).workflow, "", timed_out=False)


def _load(runtime: Runtime, workflow_id: str) -> LoadedWorkflow:
    loaded = runtime.executions.load(workflow_id)
    if loaded is None:
        raise NotFoundError(f"No such workflow found by id: {workflow_id}")
    return loaded


def _signal(
    runtime: Runtime, workflow: Workflow, status: str, output: dict[str, Any]
) -> ResultOutcome | None:
    parse_status(status, allow_timed_out=False)
    blocked = blocked_task(runtime, workflow)
    if blocked is None:
        return None
    return apply_to_reference(
        runtime, blocked.workflow, blocked.task.reference_task_name, status, output, worker_id=None
    )
