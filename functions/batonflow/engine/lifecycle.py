"""Operations a user asks for (terminate, ...), computed as plans like ``decide()`` (REFERENCE §3.10)."""

from __future__ import annotations

from batonflow.engine import outcome
from batonflow.engine.context import Decision
from batonflow.engine.operators import operator_for
from batonflow.engine.plan import Plan
from batonflow.engine.state import WorkflowState
from batonflow.model import WorkflowStatus


class InvalidTransition(Exception):
    """The workflow's status does not allow the operation (the API answers 409)."""


def terminate(state: WorkflowState, reason: str | None, now: int) -> Plan:
    """TERMINATED with ``reason``; running tasks CANCELED. A TERMINATED workflow is left alone."""
    status = state.workflow.status
    if status == WorkflowStatus.COMPLETED:
        raise InvalidTransition(f"Cannot terminate a {status.value} workflow.")
    decision = Decision(state, now, operator_for)
    if status == WorkflowStatus.TERMINATED:
        return decision.plan()
    outcome.end_workflow(decision, WorkflowStatus.TERMINATED, reason, run_failure_workflow=False)
    return decision.plan()
