"""``decide()``: the pure heart of the engine.

Invariant: ``decide(state, now)`` reads nothing but its arguments and writes nothing; it returns a
:class:`~batonflow.engine.plan.Plan`. Deciding again over the same state yields the same plan (task ids are
deterministic, jitter is derived from ids), and deciding over the state that a plan produced yields an empty
plan. That is what makes a duplicated, reordered or late decider message harmless, and what lets the executor
simply reload and decide again after losing an optimistic-lock race.

One pass (REFERENCE §3.2): a terminal workflow only cancels leftovers; the workflow timeout is checked (even
while PAUSED); a PAUSED workflow schedules nothing; a fresh workflow schedules its first task; then, for the
current attempt of every reference: worker deadlines are checked, waiting system tasks (JOIN, DO_WHILE) are
re-evaluated, failed attempts are retried or end the workflow (optional ones become COMPLETED_WITH_ERRORS,
permissive ones let the flow go on), and finished attempts get their successors scheduled (each task type
says what follows it). Passes repeat while they change something — synchronous system tasks finish within
one decide. Finally the workflow completes when nothing is left to run, and the earliest future deadline
becomes ``wake_at``.

Rejected: storing a per-task "executed" flag as Conductor does. Whether a finished task was handled is
derivable (its successor or its retry exists), and deriving it saves a DynamoDB write per task.
"""

from __future__ import annotations

from batonflow.engine import join_counts, outcome, timeouts
from batonflow.engine.context import Decision
from batonflow.engine.operators import operator_for
from batonflow.engine.plan import Plan
from batonflow.engine.retry import jitter_ms, retry_delay_seconds
from batonflow.engine.state import WorkflowState
from batonflow.model import Task, TaskStatus, WorkflowStatus

_MAX_PASSES = 10_000


def decide(state: WorkflowState, now: int) -> Plan:
    decision = Decision(state, now, operator_for)
    workflow = decision.workflow
    if workflow.status.is_terminal:
        if not workflow.status.is_successful:
            # the ending cancelled everything; a partial decide only meets the stragglers its message names
            outcome.cancel_open_tasks(decision, loaded_only=decision.partial)
        return decision.plan()
    expired = timeouts.workflow_expiry(decision)
    if expired is not None:
        outcome.end_workflow(decision, WorkflowStatus.TIMED_OUT, expired)
        return decision.plan()
    if workflow.status == WorkflowStatus.PAUSED:
        return decision.plan(wake_at=timeouts.next_deadline(decision))
    if decision.is_fresh():
        first = decision.index.first()
        if first is None:
            outcome.complete_workflow(decision, reason="No tasks found to be executed")
            return decision.plan()
        decision.schedule(first, 0)
    _run_passes(decision)
    if not decision.ended and not _known_busy(decision):
        while not decision.ended and _fail_stuck_waits(decision):
            _run_passes(decision)
        if not decision.ended and _is_complete(decision):
            _finish(decision)
    if decision.ended:
        outcome.cancel_open_tasks(decision)  # tasks an operator created after the ending (a fork's branches)
    else:
        join_counts.update(decision)
    return decision.plan(wake_at=timeouts.next_deadline(decision))


def _known_busy(decision: Decision) -> bool:
    """Something is certainly still running: a loaded worker-like task, or (for a partial decide, which
    cannot list every task) a JOIN whose counter says branches are still out."""
    if any(
        not t.status.is_terminal and not decision.operator_of(t).waits_on_others for t in decision.tasks()
    ):
        return True
    return decision.partial and any(count.remaining > 0 for count in decision.joins.values())


def _run_passes(decision: Decision) -> None:
    for _ in range(_MAX_PASSES):
        if decision.ended or not _one_pass(decision):
            return


def _fail_stuck_waits(decision: Decision) -> bool:
    """When only waiting tasks (JOIN, ...) are left open, fail those that can never finish."""
    decision.all_tasks("check for waits that can never finish")
    open_tasks = [t for t in decision.latest_attempts() if not t.status.is_terminal]
    if not open_tasks or not all(decision.operator_of(t).waits_on_others for t in open_tasks):
        return False
    failed = False
    for task in open_tasks:
        reason = decision.operator_of(task).stuck_reason(decision, task)
        if reason is not None:
            decision.update_task(
                task.model_copy(
                    update={
                        "status": TaskStatus.FAILED,
                        "reason_for_incompletion": reason,
                        "end_time": decision.now,
                        "update_time": decision.now,
                    }
                )
            )
            failed = True
    return failed


def _one_pass(decision: Decision) -> bool:
    """Advance every current attempt once; True if anything new was scheduled or changed.

    Finished attempts go first, in scheduling order, then the open ones: a JOIN (or any task waiting on
    others) must see the retry of a failed attempt, which handling that attempt creates, and a JOIN is
    scheduled before the later tasks of the branches it waits on.
    """
    progressed = False
    for task in sorted(decision.to_advance(), key=lambda attempt: not attempt.status.is_terminal):
        if not decision.has_task(task.task_id):
            continue  # removed earlier in this pass (DO_WHILE keepLastN)
        progressed |= _advance(decision, decision.task(task.task_id))
        if decision.ended:
            break
    return progressed


def _advance(decision: Decision, task: Task) -> bool:
    operator = decision.operator_of(task)
    changed = False
    if not task.status.is_terminal:
        if operator.is_worker:
            _expire_if_due(decision, task)
        else:
            operator.execute(decision, task)
        updated = decision.task(task.task_id)
        changed, task = updated != task, updated
        if decision.ended or not task.status.is_terminal:
            return changed
    if not task.status.is_successful:
        return _handle_failure(decision, task) or changed
    return _schedule_successors(decision, task) or changed


def _expire_if_due(decision: Decision, task: Task) -> None:
    expiry = timeouts.task_expiry(task, decision.now)
    if expiry is None:
        return
    timed_out = task.model_copy(
        update={
            "status": TaskStatus.TIMED_OUT,
            "reason_for_incompletion": expiry.reason,
            "end_time": decision.now,
            "update_time": decision.now,
        }
    )
    decision.update_task(timed_out)
    decision.note(f"task {task.reference_task_name} ({task.task_id}) timed out: {expiry.reason}")
    if expiry.times_out_workflow:
        outcome.end_workflow(decision, WorkflowStatus.TIMED_OUT, expiry.reason)


def _max_retries(task: Task) -> int:
    workflow_task = task.workflow_task
    if workflow_task is not None and workflow_task.retry_count is not None:
        return workflow_task.retry_count
    return task.task_definition.retry_count if task.task_definition else 0


def _handle_failure(decision: Decision, task: Task) -> bool:
    """Retry a failed attempt, or let an optional/permissive one pass, or end the workflow."""
    operator = decision.operator_of(task)
    retry_count = task.retry_count + 1
    if task.status.is_retriable and operator.retriable and task.retry_count < _max_retries(task):
        if decision.has_task(decision.new_task_id(task.reference_task_name, retry_count)):
            return False
        task_def = task.task_definition
        delay = retry_delay_seconds(task_def, task.retry_count) if task_def else 0
        if task_def is not None:
            delay += -(-jitter_ms(task_def, task.task_id) // 1000)
        if operator.retry(decision, task, delay) is None:
            return _give_up(decision, task)
        decision.update_task(decision.task(task.task_id).model_copy(update={"retried": True}))
        decision.note(f"task {task.reference_task_name} retry {retry_count} in {delay}s")
        return True
    return _give_up(decision, task)


def _give_up(decision: Decision, task: Task) -> bool:
    workflow_task = task.workflow_task
    if workflow_task is not None and workflow_task.optional:
        decision.update_task(task.model_copy(update={"status": TaskStatus.COMPLETED_WITH_ERRORS}))
        return _schedule_successors(decision, decision.task(task.task_id)) or True
    if workflow_task is not None and workflow_task.permissive:
        return _schedule_successors(decision, task)
    outcome.fail_for_task(decision, task)
    return True


def _schedule_successors(decision: Decision, task: Task) -> bool:
    join_counts.arrive(decision, task)
    scheduled = False
    for workflow_task, iteration in decision.operator_of(task).successors(decision, task):
        if decision.ended:
            break
        scheduled |= decision.schedule(workflow_task, iteration)
    return scheduled


def _is_complete(decision: Decision) -> bool:
    """Every attempt finished and every top-level task of the definition has a finished execution."""
    if any(not t.status.is_terminal for t in decision.all_tasks("check that nothing is left to run")):
        return False
    return all(decision.tasks_for(t.task_reference_name) for t in decision.index.top_level())


def _finish(decision: Decision) -> None:
    """Complete, unless a permissive task's latest attempt failed (then the workflow fails, §3.2 step 7)."""
    failures = [
        t
        for t in decision.latest_attempts()
        if t.workflow_task is not None
        and t.workflow_task.permissive
        and not t.workflow_task.optional
        and not t.status.is_successful
    ]
    if not failures:
        outcome.complete_workflow(decision)
        return
    reason = ". ".join(
        f"Task {t.task_id} failed with status: {t.status.value} and reason: '{t.reason_for_incompletion}'"
        for t in failures
    )
    outcome.end_workflow(decision, WorkflowStatus.FAILED, reason)
