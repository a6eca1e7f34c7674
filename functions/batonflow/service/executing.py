"""Synchronous execute: start a workflow and answer when it is done (REFERENCE §5.2, ``/workflow/execute``).

The request starts the workflow, then reads it every 100 ms until it is terminal, one of the
``waitUntilTaskRef`` tasks has finished, or a WAIT task without a deadline blocks it; after
``waitForSeconds`` it answers the current state with ``signalTimeout: true``, never an error. The wait is
capped below API Gateway's 30-second integration timeout, so a long workflow answers RUNNING rather
than a 504.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batonflow.model import StartWorkflowRequest, Task, TaskType, Workflow
from batonflow.service.runtime import Runtime
from batonflow.service.workflows import get_workflow, start_workflow

POLL_INTERVAL_S = 0.1
MAX_WAIT_S = 25
DEFAULT_WAIT_S = 10


def execute_workflow(
    runtime: Runtime,
    request: StartWorkflowRequest,
    *,
    request_id: str,
    wait_until: Sequence[str] = (),
    wait_seconds: int = DEFAULT_WAIT_S,
) -> dict[str, Any]:
    """Start ``request`` and return its WorkflowRun once done or after ``wait_seconds`` (0 means 10)."""
    workflow_id = start_workflow(runtime, request)
    wait_ms = min(wait_seconds or DEFAULT_WAIT_S, MAX_WAIT_S) * 1000
    deadline = runtime.clock() + wait_ms
    while True:
        workflow = get_workflow(runtime, workflow_id)
        if _settled(workflow, wait_until):
            return workflow_run(workflow, request_id, timed_out=False)
        if runtime.clock() >= deadline:
            return workflow_run(workflow, request_id, timed_out=True)
        runtime.sleep(POLL_INTERVAL_S)


def _settled(workflow: Workflow, wait_until: Sequence[str]) -> bool:
    if workflow.status.is_terminal:
        return True
    latest = {task.reference_task_name: task for task in workflow.tasks}
    if any(ref in latest and latest[ref].status.is_terminal for ref in wait_until):
        return True
    return any(_blocks(task) for task in latest.values())


def _blocks(task: Task) -> bool:
    """A WAIT without ``duration`` or ``until`` waits for an update: the caller gets control back."""
    return (
        task.task_type == TaskType.WAIT
        and not task.status.is_terminal
        and not ({"duration", "until"} & set(task.input_data))
    )


def workflow_run(workflow: Workflow, request_id: str, *, timed_out: bool) -> dict[str, Any]:
    """Conductor's WorkflowRun (TARGET_WORKFLOW response) for ``workflow``."""
    document = workflow.to_conductor()
    run: dict[str, Any] = {
        key: document[key]
        for key in (
            "workflowId",
            "correlationId",
            "input",
            "output",
            "tasks",
            "priority",
            "variables",
            "createdBy",
            "createTime",
            "updateTime",
            "status",
        )
        if key in document
    }
    run.update(
        requestId=request_id,
        responseType="TARGET_WORKFLOW",
        targetWorkflowId=workflow.workflow_id,
        targetWorkflowStatus=workflow.status.value,
    )
    if timed_out:
        run["signalTimeout"] = True
    return run
