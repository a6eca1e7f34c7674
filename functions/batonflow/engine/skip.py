"""``PUT /api/workflow/{id}/skiptask/{ref}`` (REFERENCE §3.10): let the flow jump over a task not yet reached.

The skip is a SKIPPED placeholder attempt for the reference (input and output as given). When the flow
reaches the reference it finds an execution and schedules nothing; the placeholder, finished and
successful, hands over to its successors like any completed task.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.operators import operator_for
from batonflow.engine.operators.base import new_task
from batonflow.engine.plan import Plan
from batonflow.engine.state import WorkflowState
from batonflow.errors import BadRequestError, ConflictError
from batonflow.model import TaskStatus, WorkflowStatus


def skip_task(
    state: WorkflowState,
    now: int,
    reference: str,
    *,
    task_input: dict[str, Any] | None = None,
    task_output: dict[str, Any] | None = None,
) -> Plan:
    """Raises ConflictError unless the workflow is RUNNING and the reference has no execution yet, and
    BadRequestError for a reference the definition does not have."""
    workflow = state.workflow
    if workflow.status != WorkflowStatus.RUNNING:
        raise ConflictError(f"The workflow {workflow.workflow_id} is not running: {workflow.status.value}")
    decision = Decision(state, now, operator_for)
    workflow_task = decision.index.get(reference)
    if workflow_task is None:
        raise BadRequestError(f"The task {reference} is not in the definition of {workflow.workflow_name}")
    if decision.tasks_for(reference):
        raise ConflictError(f"The task {reference} has already been scheduled and cannot be skipped")
    placeholder = new_task(
        decision,
        workflow_task,
        task_type=workflow_task.name,
        status=TaskStatus.SKIPPED,
        input_data=task_input or {},
        output_data=task_output or {},
    )
    decision.add_task(placeholder)
    return decision.plan()
