"""Apply ``decide()``'s plan: the thin, impure half of the decider.

Order of effects for one decide::

    load (1 Query) ─► decide() ─► put new tasks ─► update changed tasks ─► commit header (version check)
                                                                          │
                                       send task messages (batched) ◄─────┘ ─► wake timer if deadline moved

The header commit records the dispatches it is about to send (its *outbox*). If the function dies after
the commit but before the sends, SQS redelivers the decider message; a redelivered message re-sends the
outbox entries whose tasks are still SCHEDULED. A lost race (``ConflictError``) reloads and decides
again; nothing was sent yet, and re-created task items are no-ops thanks to deterministic ids.
"""

from __future__ import annotations

import logging

from batonflow.engine.decider import decide
from batonflow.engine.plan import Dispatch, Plan
from batonflow.engine.state import WorkflowState
from batonflow.model import Task, TaskStatus
from batonflow.model.wire import TaskMessage
from batonflow.service.runtime import Runtime
from batonflow.store.errors import ConflictError
from batonflow.store.executions import LoadedWorkflow

logger = logging.getLogger(__name__)

_MAX_ATTEMPTS = 8


def task_message(task: Task) -> TaskMessage:
    return TaskMessage(
        workflowInstanceId=task.workflow_instance_id,
        taskId=task.task_id,
        taskType=task.task_type,
        taskDefName=task.task_def_name,
        referenceTaskName=task.reference_task_name,
        retryCount=task.retry_count,
        inputData=task.input_data,
        responseTimeoutSeconds=task.response_timeout_seconds,
        workflowType=task.workflow_type,
        correlationId=task.correlation_id,
        scheduledTime=task.scheduled_time,
    )


def run_decide(runtime: Runtime, workflow_id: str, *, redelivered: bool = False) -> Plan | None:
    """Decide once for a workflow and apply the plan; returns the applied plan (None: unknown workflow)."""
    for _ in range(_MAX_ATTEMPTS):
        loaded = runtime.executions.load(workflow_id)
        if loaded is None:
            logger.warning("decide for unknown workflow", extra={"workflowId": workflow_id})
            return None
        if redelivered:
            _resend_outbox(runtime, loaded)
            redelivered = False
        now = runtime.clock()
        state = WorkflowState(
            workflow=loaded.workflow, generation=loaded.header.generation, environment=runtime.environment
        )
        plan = decide(state, now)
        if plan.is_empty and plan.wake_at == loaded.header.wake_at:
            return plan
        outbox = [{"taskId": d.task.task_id, "delay": d.delay_seconds} for d in plan.dispatches]
        try:
            runtime.executions.commit(loaded, plan, now, outbox)
        except ConflictError:
            logger.info("decide lost a race; deciding again", extra={"workflowId": workflow_id})
            continue
        for note in plan.notes:
            logger.info(note, extra={"workflowId": workflow_id})
        _send(runtime, plan.dispatches, now)
        ended = plan.workflow is not None and plan.workflow.status is not None
        if not ended and plan.wake_at is not None and plan.wake_at != loaded.header.wake_at:
            runtime.queues.wake_at(workflow_id, plan.wake_at, now=now)
        return plan
    raise ConflictError(f"workflow {workflow_id}: gave up after {_MAX_ATTEMPTS} conflicting decides")


def _send(runtime: Runtime, dispatches: tuple[Dispatch, ...] | list[Dispatch], now: int) -> None:
    if dispatches:
        runtime.queues.send_tasks([(task_message(d.task), d.delay_seconds) for d in dispatches], now=now)


def _resend_outbox(runtime: Runtime, loaded: LoadedWorkflow) -> None:
    """Re-send the last commit's dispatches whose tasks still wait: the previous try may have died first."""
    tasks = {t.task_id: t for t in loaded.tasks}
    pending = [
        Dispatch(tasks[entry["taskId"]], int(entry.get("delay", 0)))
        for entry in loaded.header.outbox
        if entry.get("taskId") in tasks and tasks[entry["taskId"]].status == TaskStatus.SCHEDULED
    ]
    if pending:
        logger.info("re-sending %d dispatches after a redelivery", len(pending))
        _send(runtime, pending, runtime.clock())
