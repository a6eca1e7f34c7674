"""User operations (terminate, pause, resume), computed as plans like ``decide()`` (REFERENCE §3.10).

Each function is pure: it looks at the loaded state and returns the plan the executor commits (with the
header's version check, so a concurrent decide makes the operation retry on fresh state). A state that does
not allow the operation raises :class:`InvalidTransition`; the service layer turns it into the HTTP status
Conductor answers for that operation (409 for terminate and pause, 500 for resume).

Pause and resume change the header: a PAUSED workflow keeps its tasks (workers may still finish the ones
already handed out) and ``decide()`` schedules nothing for it. Both keep the header's pending wake-up,
because the workflow timeout still runs while PAUSED; the decide that follows a resume recomputes it.

A decide racing a pause can lose: it writes its new task items before its header commit, the pause commits
first, and the decide, deciding again, meets a PAUSED workflow and sends nothing. Those attempts were never
dispatched (nor their child workflows started) and no later decide would dispatch an existing attempt.
They are recognisable: no commit counted them, so their ``seq`` is above the header's ``lastSeq``. Resume
deletes them, and the decide it wakes creates them again (same deterministic ids) and dispatches them.
"""

from __future__ import annotations

from batonflow.engine import outcome
from batonflow.engine.context import Decision
from batonflow.engine.operators import operator_for
from batonflow.engine.plan import Plan, WorkflowChange
from batonflow.engine.state import WorkflowState
from batonflow.model import Workflow, WorkflowStatus


class InvalidTransition(Exception):
    """The workflow's status does not allow the operation (the service maps it to Conductor's status)."""


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


def pause(state: WorkflowState, now: int) -> Plan:
    """RUNNING -> PAUSED; pausing a PAUSED workflow changes nothing, a finished one cannot be paused."""
    workflow = state.workflow
    if workflow.status.is_terminal:
        raise InvalidTransition(f"Workflow {_short(workflow)} has ended, status cannot be updated.")
    if workflow.status == WorkflowStatus.PAUSED:
        return Plan()
    return _header_change(state, WorkflowChange(status=WorkflowStatus.PAUSED))


def resume(state: WorkflowState, now: int) -> Plan:
    """PAUSED -> RUNNING with ``lastRetriedTime = now`` (the workflow timeout counts from there).

    The caller wakes the decider afterwards so the workflow schedules what it held back.
    """
    workflow = state.workflow
    if workflow.status != WorkflowStatus.PAUSED:
        raise InvalidTransition(
            f"The workflow {workflow.workflow_id} is not PAUSED so cannot resume. "
            f"Current status is {workflow.status.value}"
        )
    return _header_change(state, WorkflowChange(status=WorkflowStatus.RUNNING, last_retried_time=now))


def _header_change(state: WorkflowState, change: WorkflowChange) -> Plan:
    return Plan(workflow=change, wake_at=state.wake_at, last_seq=state.last_seq)


def _short(workflow: Workflow) -> str:
    """Conductor's ``WorkflowModel.toShortString()``: ``<name>.<version>/<id>``."""
    return f"{workflow.workflow_name}.{workflow.workflow_version}/{workflow.workflow_id}"
