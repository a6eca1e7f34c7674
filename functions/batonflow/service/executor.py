"""Apply ``decide()``'s plan: the thin, impure half of the decider.

Order of effects for one decide::

    load (1 Query) ─► decide() ─► put new tasks ─► update changed tasks ─► commit header (version check)
                                                                          │
    send task messages (batched) ◄────────────────────────────────────────┘
    start child workflows, terminate children of cancelled SUB_WORKFLOW tasks
    report the end of a child workflow into its parent's task
    wake timer if the earliest deadline moved

The header commit records the dispatches and child starts it is about to perform (its *outbox*). If the
function dies after the commit but before those effects, SQS redelivers the decider message; a redelivered
message first repeats the outbox entries that still matter (tasks still SCHEDULED, children not yet
created — creating a child is idempotent) and re-reports a finished child workflow to its parent. A lost
race (``ConflictError``) reloads and decides again; nothing was sent yet, and re-created task items are
no-ops thanks to deterministic ids.

A workflow's first decide runs where it is created, from the execution as built (``create_workflow``): no
load, and the header is written with the plan applied instead of committed over a stored one.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from batonflow import errors, metrics
from batonflow.engine.decider import decide
from batonflow.engine.lifecycle import InvalidTransition, terminate
from batonflow.engine.plan import ChildStart, Dispatch, FailureWorkflowStart, Plan
from batonflow.engine.state import LARGE_WORKFLOW_TASKS, NeedFull, NeedTaskDefs, NeedTasks, WorkflowState
from batonflow.model import StartWorkflowRequest, Task, TaskDef, TaskStatus, Workflow, WorkflowStatus
from batonflow.model.wire import DeciderReason, ResultMessage
from batonflow.service.concurrency import release
from batonflow.service.dispatch import dispatch
from batonflow.service.runtime import Runtime
from batonflow.service.starting import START_GRACE_MS, new_execution
from batonflow.service.tasks import MAX_NEW_TASKS_IN_REQUEST, apply_result
from batonflow.store.errors import ConflictError
from batonflow.store.executions import LoadedWorkflow
from batonflow.store.layout import Header, as_held

logger = logging.getLogger(__name__)

_MAX_ATTEMPTS = 8
_CHILD_STATUS = {
    WorkflowStatus.COMPLETED: TaskStatus.COMPLETED,
    WorkflowStatus.FAILED: TaskStatus.FAILED,
    WorkflowStatus.TIMED_OUT: TaskStatus.TIMED_OUT,
    WorkflowStatus.TERMINATED: TaskStatus.CANCELED,
}


class PlanTooLarge(Exception):
    """A decide's plan creates more attempts than its caller may write (nothing was written)."""


class WorkflowTooLarge(Exception):
    """The workflow is too large to be loaded whole, and the caller decides only whole ones (nothing was
    written)."""


def run_decide(
    runtime: Runtime,
    workflow_id: str,
    *,
    task_ids: Sequence[str] = (),
    large: bool = False,
    redelivered: bool = False,
    attempts: int = _MAX_ATTEMPTS,
    max_new_tasks: int | None = None,
    whole_only: bool = False,
) -> Plan | None:
    """Decide once for a workflow and apply the plan; returns the applied plan (None: unknown workflow).

    ``task_ids`` name the attempts whose change caused this decide: a large workflow is then decided from
    its header, those attempts and what the decide asks for (see ``batonflow.engine.state``). Without
    them, or for a redelivered message (a crash may have left a JOIN count behind), the whole workflow
    is loaded. ``large``: the sender knows the workflow is large, so its header is read alone.
    ``attempts``: how many lost races to decide again after before raising ConflictError.
    ``max_new_tasks``: raise PlanTooLarge, before writing anything, for a plan creating more attempts.
    ``whole_only``: raise WorkflowTooLarge, before writing anything, for a workflow too large to load whole.
    """
    focus = () if redelivered else tuple(task_ids)
    token = uuid.uuid4().hex
    for _ in range(attempts):
        loaded = _load(runtime, workflow_id, focus, large)
        if loaded is None:
            logger.warning("decide for unknown workflow", extra={"workflowId": workflow_id})
            # a late result that carried its attempt's record may have just created its item
            runtime.executions.purge_remains(workflow_id)
            return None
        if whole_only and not loaded.complete:
            raise WorkflowTooLarge(f"workflow {workflow_id} has too many attempts to be loaded whole")
        if redelivered:
            metrics.count(metrics.Metric.DECIDER_RETRIES)
        if redelivered or loaded.header.version == 1:
            # version 1: a start whose effects may not have happened (``create_workflow``); none to repeat
            # for a workflow created without its first decide
            _repeat_outbox(runtime, loaded)
            redelivered = False
        now = runtime.clock()
        loaded, plan = _decide(runtime, loaded, focus, token, now)
        if plan.is_empty and plan.wake_at == loaded.header.wake_at:
            _release_slots(runtime, loaded, plan, task_ids, now)
            return plan
        if max_new_tasks is not None and len(plan.new_tasks) > max_new_tasks:
            raise PlanTooLarge(f"the plan creates {len(plan.new_tasks)} attempts, more than {max_new_tasks}")
        try:
            commit(runtime, loaded, plan, now, token=token, finished=task_ids)
        except ConflictError:
            # what the lost try already wrote may have moved the workflow on (a JOIN completed, ...) where a
            # partial decide would not look again: the next try looks at everything
            logger.info("decide lost a race; deciding again", extra={"workflowId": workflow_id})
            metrics.count(metrics.Metric.DECIDER_CONFLICTS)
            focus = ()
            continue
        return plan
    raise ConflictError(f"workflow {workflow_id}: gave up after {attempts} conflicting decides")


def _load(runtime: Runtime, workflow_id: str, focus: Sequence[str], large: bool) -> LoadedWorkflow | None:
    executions = runtime.executions
    if not focus:
        return executions.load(workflow_id)
    if large:
        header_only = executions.load(workflow_id, include_tasks=False)
        return None if header_only is None else replace(header_only, complete=False)
    return executions.load(workflow_id, partial_from=LARGE_WORKFLOW_TASKS)


def _decide(
    runtime: Runtime, loaded: LoadedWorkflow, focus: Sequence[str], token: str, now: int
) -> tuple[LoadedWorkflow, Plan]:
    """Run ``decide()``, loading what a partial decide asks for until it has enough to plan."""
    executions = runtime.executions
    workflow_id = loaded.header.workflow.workflow_id
    references: set[str] | None = None
    if not loaded.complete and loaded.header.generation != 0:
        # attempts of earlier runs have other ids: only a full load finds them
        loaded = executions.load(workflow_id) or loaded
    if not loaded.complete:
        tasks, stamps = executions.get_tasks(workflow_id, focus, header=loaded.header)
        tasks = [t for t in tasks if t.seq >= loaded.header.first_seq]  # not from a run before a restart
        references = {t.reference_task_name for t in tasks}
        loaded = _with_attempts(runtime, loaded, references, {t.task_id: t for t in tasks}, stamps)
    registry: dict[str, TaskDef | None] = {}
    while True:
        try:
            return loaded, decide(_state(runtime, loaded, references, token, focus, registry), now)
        except NeedTaskDefs as need:
            _look_up(runtime, registry, need)
        except NeedTasks as need:
            assert references is not None
            references |= need.references
            known = {t.task_id: t for t in loaded.tasks}
            loaded = _with_attempts(runtime, loaded, need.references, known, loaded.stamps)
        except NeedFull as need:
            logger.info("partial decide needs the whole workflow: %s", need.reason)
            full = executions.load(workflow_id)
            if full is None:
                raise errors.NotFoundError(f"No such workflow found by id: {workflow_id}") from need
            loaded, references = full, None


def _look_up(runtime: Runtime, registry: dict[str, TaskDef | None], need: NeedTaskDefs) -> None:
    """Read the registered TaskDefs a decide asked for (one BatchGetItem); None for unregistered names."""
    found = runtime.definitions.get_tasks(need.names)
    registry.update({name: found.get(name) for name in need.names})


def _with_attempts(
    runtime: Runtime,
    loaded: LoadedWorkflow,
    references: Iterable[str],
    known: dict[str, Task],
    stamps: dict[str, str],
) -> LoadedWorkflow:
    header = loaded.header
    found, new_stamps = runtime.executions.load_attempts(header, references, known)
    tasks = sorted(found.values(), key=lambda t: t.seq)
    return LoadedWorkflow(header, tasks, complete=False, stamps={**stamps, **new_stamps})


def _state(
    runtime: Runtime,
    loaded: LoadedWorkflow,
    references: set[str] | None,
    token: str,
    focus: Sequence[str] = (),
    registry: Mapping[str, TaskDef | None] | None = None,
) -> WorkflowState:
    header = loaded.header
    # attempts above the header's last ``seq`` were written by a decide whose commit was lost: deciding
    # again recreates them (same ids) and sends them this time
    return WorkflowState(
        workflow=loaded.workflow,
        generation=header.generation,
        environment=runtime.environment,
        loaded_references=None if references is None else frozenset(references),
        focus=frozenset(focus),
        last_seq=header.last_seq,
        first_seq=header.first_seq,
        wake_at=header.wake_at,
        joins=header.joins,
        # this decide's own stamps are from a try whose commit lost: they counted nothing
        counted=frozenset(task_id for task_id, stamp in loaded.stamps.items() if stamp != token),
        registry=registry,
    )


def commit(
    runtime: Runtime,
    loaded: LoadedWorkflow,
    plan: Plan,
    now: int,
    *,
    token: str = "",
    finished: Sequence[str] = (),
) -> None:
    """Write the plan (ConflictError if the workflow changed meanwhile), then perform its effects.

    ``finished``: attempts whose change caused this decide; those that finished give back their
    concurrency slots (with the attempts the plan finishes) before the plan's new attempts are sent.
    """
    held = runtime.executions.commit(loaded, plan, now, _outbox(runtime, plan), token=token)
    _perform(runtime, loaded, plan, now, finished, held)


def _outbox(runtime: Runtime, plan: Plan) -> list[dict[str, Any]]:
    """What a commit records of the effects it is about to perform, to repeat them after a crash."""
    outbox = dispatch_entries(plan.dispatches) + [_child_entry(runtime, child) for child in plan.children]
    if plan.failure_workflow is not None:
        # the failed execution itself is left out of the header (it could outgrow the item) and rebuilt
        # from the stored state if the start has to be repeated
        request = plan.failure_workflow.request
        slim = {**request, "input": {k: v for k, v in request["input"].items() if k != "failedWorkflow"}}
        outbox.append({"failureWorkflow": plan.failure_workflow.workflow_id, "request": slim})
    return outbox


def _perform(
    runtime: Runtime,
    loaded: LoadedWorkflow,
    plan: Plan,
    now: int,
    finished: Sequence[str],
    held: frozenset[str],
) -> None:
    """The effects of a committed plan: dispatches (``held``: the attempts the header holds, whose
    messages carry their record), child starts, reports, its timer."""
    workflow_id = loaded.header.workflow.workflow_id
    for note in plan.notes:
        logger.info(note, extra={"workflowId": workflow_id})
    _count(runtime, loaded, plan)
    _release_slots(runtime, loaded, plan, finished, now)
    _send(runtime, [_marked(d, held) for d in plan.dispatches], now)
    for child in plan.children:
        _start(runtime, child)
    if plan.failure_workflow is not None:
        _start_failure_workflow(runtime, plan.failure_workflow)
    for change in plan.task_changes:
        if change.task.sub_workflow_id and change.task.status == TaskStatus.CANCELED:
            _terminate_child(runtime, change.task, plan)
    if plan.ends:
        report_to_parent(runtime, _ended(loaded.header.workflow, plan))
    elif plan.wake_at is not None and plan.wake_at != loaded.header.wake_at:
        runtime.queues.wake_at(workflow_id, plan.wake_at, now=now)


def create_workflow(
    runtime: Runtime,
    request: StartWorkflowRequest,
    workflow_id: str,
    *,
    parent: tuple[str, str] | None = None,
) -> None:
    """Create the execution a start request asks for and run its first decide, as Conductor does: when
    this returns, its first tasks are on their queues and in the workflow.

    Nothing is read: the decide plans from the execution as built here, and its attempts and the header,
    with the plan applied, are written as one decide's commit is, then its effects are performed. Until
    they are confirmed (the header moves from version 1 to 2, ``ExecutionStore.confirm_start``), the
    header keeps a wake-up ``START_GRACE_MS`` ahead: if the start dies in between, the sweeper wakes the
    workflow, and a decide of a version-1 header repeats the outbox, as a redelivered one does. The
    confirmation replaces the wake-up with the plan's, at the cost of the write the decider's first
    commit would have made; the decider's queue hop, invocation and load are saved.

    The confirmation follows the sends: in a queue function, which holds its sends until its batch ends
    (``Queues.held``: a child the decider starts), once they went; if they fail, the batch comes back and
    its repeated outboxes start the child again, which wakes the child, whose version-1 decide repeats the
    child's outbox. Left to the decider (the header is written undecided and the decider woken): a plan
    creating more than ``MAX_NEW_TASKS_IN_REQUEST`` attempts (an API request answers within 29 s).

    Raises a ``store.errors.ConflictError`` if ``workflow_id`` exists already.
    """
    workflow = new_execution(runtime, request, workflow_id, parent=parent)
    if not _start_decided(runtime, workflow, workflow.create_time):
        create_undecided(runtime, workflow)
    metrics.count(metrics.Metric.WORKFLOWS_STARTED)
    details: dict[str, Any] = {"workflowId": workflow_id, "workflowName": workflow.workflow_name}
    if runtime.settings.log_payloads:
        details["input"] = workflow.input
    logger.info("workflow started", extra=details)


def create_undecided(runtime: Runtime, workflow: Workflow) -> None:
    """Write a new execution's header undecided and wake the decider for its first decide; the header keeps
    a wake-up ``START_GRACE_MS`` ahead in case the wake-up is lost."""
    runtime.executions.create(workflow, wake_at=workflow.create_time + START_GRACE_MS)
    runtime.queues.wake_workflows([workflow.workflow_id or ""], DeciderReason.START)


def _start_decided(runtime: Runtime, workflow: Workflow, now: int) -> bool:
    """Write ``workflow`` with its first decide applied and perform it; False (nothing written) if that
    plan is one to leave to the decider."""
    token = uuid.uuid4().hex
    loaded, plan = _decide(runtime, LoadedWorkflow(Header(workflow=workflow, version=0), []), (), token, now)
    # a plan over no stored attempts changes and removes none; one that counted attempts toward a JOIN
    # would need them stamped, which is the decider's commit's work
    if plan.counted or len(plan.new_tasks) > MAX_NEW_TASKS_IN_REQUEST:
        return False
    grace = now + START_GRACE_MS
    held = runtime.executions.create_decided(
        loaded, plan, now, _outbox(runtime, plan), token=token, wake_at=grace
    )
    _perform(runtime, loaded, plan, now, (), held)
    # inside a queue function the sends are held until its batch ends (``Queues.held``): confirm after them
    planned = None if plan.ends else plan.wake_at
    runtime.queues.after_sends(lambda: runtime.executions.confirm_start(workflow.workflow_id or "", planned))
    return True


def start_for_task(
    runtime: Runtime, request: dict[str, Any], workflow_id: str, parent: tuple[str, str] | None
) -> str | None:
    """Start the workflow a task asked for (idempotent); returns why it could not start, or None."""
    try:
        parsed = StartWorkflowRequest.model_validate(request)
        create_workflow(runtime, parsed, workflow_id, parent=parent)
    except ConflictError:
        # created already: this is a repeated effect, and the first try may have died before its start's
        # effects (its first decide's dispatches, or the decider's wake-up), so wake it again: the decide
        # repeats them if they are unconfirmed, and otherwise changes nothing
        runtime.queues.wake_workflows([workflow_id], DeciderReason.START)
        return None
    except (errors.NotFoundError, errors.BadRequestError, errors.PayloadTooLargeError) as error:
        return error.message
    except ValueError as error:
        return f"Invalid start request: {error}"
    return None


def _count(runtime: Runtime, loaded: LoadedWorkflow, plan: Plan) -> None:
    """Count (and log) what a committed plan did: attempts sent and finished, the workflow's end.

    Attempts a worker finished were counted when their result was applied; here only those the decider
    finishes itself (timeouts, tasks it runs inline, tasks created finished).
    """
    metrics.count(metrics.Metric.TASKS_SCHEDULED, len(plan.dispatches))
    for task in plan.new_tasks:
        metrics.count_task_end(task.status)
    for change in plan.task_changes:
        if not change.expected_status.is_terminal:
            metrics.count_task_end(change.task.status)
    status = plan.workflow.status if plan.workflow is not None else None
    if status is None or not status.is_terminal:
        return
    ended = metrics.WORKFLOW_ENDS.get(status)
    if ended is not None:
        metrics.count(ended)
    workflow = loaded.header.workflow
    details: dict[str, Any] = {
        "workflowId": workflow.workflow_id,
        "workflowName": workflow.workflow_name,
        "status": status.value,
    }
    if runtime.settings.log_payloads and plan.workflow is not None and plan.workflow.output is not None:
        details["output"] = plan.workflow.output
    logger.info("workflow ended", extra=details)


def _ended(workflow: Workflow, plan: Plan) -> Workflow:
    change = plan.workflow
    assert change is not None
    return workflow.model_copy(
        update={
            "status": change.status,
            "output": change.output if change.output is not None else workflow.output,
            "reason_for_incompletion": change.reason_for_incompletion,
        }
    )


def _release_slots(
    runtime: Runtime, loaded: LoadedWorkflow, plan: Plan, finished: Sequence[str], now: int
) -> None:
    named = set(finished)
    attempts = [t for t in loaded.tasks if t.task_id in named] + [c.task for c in plan.task_changes]
    release(runtime, attempts, now=now)


def _marked(dispatch: Dispatch, held: frozenset[str]) -> Dispatch:
    """The dispatch, its attempt marked if the header holds it (its message then carries its record)."""
    if dispatch.task.task_id not in held:
        return dispatch
    return replace(dispatch, task=as_held(dispatch.task))


def _send(runtime: Runtime, dispatches: Sequence[Dispatch], now: int) -> None:
    dispatch(runtime, [(d.task, d.delay_seconds) for d in dispatches], now=now)


def _child_entry(runtime: Runtime, child: ChildStart) -> dict[str, Any]:
    """The outbox entry of a child start; a large input is kept as a reference under the parent's
    payloads (the header, which holds the outbox, must stay small), resolved again if the start is
    repeated."""
    request = child.request
    if runtime.payloads is not None and request.get("input"):
        stored = runtime.payloads.offload(request["input"], child.task.workflow_instance_id)
        request = {**request, "input": stored}
    return {
        "taskId": child.task.task_id,
        "child": child.workflow_id,
        "request": request,
        "isChild": child.is_child,
    }


def _start(runtime: Runtime, child: ChildStart) -> None:
    """Create the workflow a task asked for; failures are reported into that task, like a worker would."""
    task = child.task
    parent = (task.workflow_instance_id, task.task_id) if child.is_child else None
    error = start_for_task(runtime, child.request, child.workflow_id, parent)
    if error is not None:
        _report(runtime, task, TaskStatus.FAILED, {"subWorkflowId": child.workflow_id}, error)
    elif not child.is_child:
        _report(runtime, task, TaskStatus.COMPLETED, {"workflowId": child.workflow_id}, None)


def _start_failure_workflow(runtime: Runtime, start: FailureWorkflowStart) -> None:
    error = start_for_task(runtime, start.request, start.workflow_id, None)
    if error is not None:
        # the first line only: a validation error goes on to quote the request, which holds the failed
        # workflow with its payloads
        first_line = error.partition("\n")[0]
        logger.warning("failure workflow %s did not start: %s", start.request.get("name"), first_line)


def _terminate_child(runtime: Runtime, task: Task, plan: Plan) -> None:
    reason = plan.workflow.reason_for_incompletion if plan.workflow else None
    message = f"Parent workflow has been terminated with reason: {reason}"
    try:
        apply_operation(
            runtime, task.sub_workflow_id or "", lambda state, now: terminate(state, message, now)
        )
    except (InvalidTransition, errors.NotFoundError):
        logger.info("child %s already finished or gone", task.sub_workflow_id)


Operation = Callable[[WorkflowState, int], Plan]


def apply_operation(runtime: Runtime, workflow_id: str, operation: Operation, *, wakes: bool = False) -> Plan:
    """Apply a user operation (terminate, ...) computed as a plan, retrying on a lost race.

    ``wakes``: the caller wakes the decider after this (retry, resume, skip...). The commit then also
    leaves the workflow a wake-up a grace period ahead, so if the caller dies before its wake-up (or
    before the plan's dispatches) the sweeper wakes the workflow and its decide repeats the commit's
    effects; the decide that follows sets the wake-up the workflow really needs.

    Raises NotFoundError for an unknown workflow and whatever the operation raises for a refused one.
    """
    for _ in range(_MAX_ATTEMPTS):
        loaded = runtime.executions.load(workflow_id)
        if loaded is None:
            raise errors.NotFoundError(f"No such workflow found by id: {workflow_id}")
        now = runtime.clock()
        registry: dict[str, TaskDef | None] = {}
        while True:
            try:
                plan = operation(_state(runtime, loaded, None, "", (), registry), now)
                break
            except NeedTaskDefs as need:
                _look_up(runtime, registry, need)
        if plan.is_empty:
            return plan
        if wakes:
            grace = now + START_GRACE_MS
            plan = replace(plan, wake_at=grace if plan.wake_at is None else min(plan.wake_at, grace))
        try:
            commit(runtime, loaded, plan, now, token=uuid.uuid4().hex)
        except ConflictError:
            metrics.count(metrics.Metric.DECIDER_CONFLICTS)
            continue
        return plan
    raise errors.ConflictError(f"workflow {workflow_id} is changing too fast; try again")


def report_to_parent(runtime: Runtime, child: Workflow) -> None:
    """A finished sub-workflow completes its parent's SUB_WORKFLOW task (idempotent)."""
    if not child.parent_workflow_id or not child.parent_workflow_task_id:
        return
    status = _CHILD_STATUS.get(child.status)
    if status is None:
        return
    reason = None
    if status != TaskStatus.COMPLETED:
        reason = (
            f"Sub workflow {child.workflow_name}.{child.workflow_version}/{child.workflow_id} "
            f"failure reason: {child.reason_for_incompletion}"
        )
    parent_task = runtime.executions.get_task(child.parent_workflow_id, child.parent_workflow_task_id)
    if parent_task is None:
        return
    _report(runtime, parent_task, status, {**child.output, "subWorkflowId": child.workflow_id}, reason)


def _report(
    runtime: Runtime, task: Task, status: TaskStatus, output: dict[str, Any], reason: str | None
) -> None:
    result = ResultMessage(
        workflowInstanceId=task.workflow_instance_id,
        taskId=task.task_id,
        status=status.value,
        outputData=output,
        reasonForIncompletion=reason,
    )
    apply_result(runtime, result, allow_timed_out=True)
    runtime.queues.wake_for_tasks([(task.workflow_instance_id, task.task_id, task.seq)], DeciderReason.TASK)


def dispatch_entries(dispatches: Sequence[Dispatch]) -> list[dict[str, Any]]:
    """The outbox entries of a plan's dispatches: per delay, the attempts' sequence numbers as ranges
    (``{"seqs": [[first, last], ...], "delay": d}``). The attempts one decide creates have consecutive
    numbers, so the header stays small however many it sends: a 10,000-branch fork is one range, where
    an entry per task id outgrew DynamoDB's 400 KB item at about 6,500 branches."""
    by_delay: dict[int, list[int]] = defaultdict(list)
    for each in dispatches:
        by_delay[each.delay_seconds].append(each.task.seq)
    return [{"seqs": _ranges(seqs), "delay": delay} for delay, seqs in sorted(by_delay.items())]


def _ranges(numbers: Iterable[int]) -> list[list[int]]:
    """``[3, 1, 2, 7]`` -> ``[[1, 3], [7, 7]]``."""
    ranges: list[list[int]] = []
    for number in sorted(set(numbers)):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ranges


def _repeat_outbox(runtime: Runtime, loaded: LoadedWorkflow) -> None:
    """After a redelivery: redo the effects of the last commit that may not have happened."""
    tasks = {t.task_id: t for t in loaded.tasks}
    by_seq = {t.seq: t for t in loaded.tasks}
    pending = [
        Dispatch(task, int(entry["delay"]))
        for entry in loaded.header.outbox
        for first, last in entry.get("seqs", [])
        for seq in range(first, last + 1)
        if (task := by_seq.get(seq)) is not None and task.status == TaskStatus.SCHEDULED
    ]
    if pending:
        logger.info("re-sending %d dispatches after a redelivery", len(pending))
        _send(runtime, pending, runtime.clock())
    for entry in loaded.header.outbox:
        task = tasks.get(entry.get("taskId", ""))
        if "child" in entry and task is not None and task.status == TaskStatus.IN_PROGRESS:
            request = entry["request"]
            if runtime.payloads is not None and "input" in request:
                request = {**request, "input": runtime.payloads.resolve(request["input"])}
            _start(runtime, ChildStart(task, entry["child"], request, entry.get("isChild", True)))
    for entry in loaded.header.outbox:
        if "failureWorkflow" in entry:
            request = entry["request"]
            failed = {**request["input"], "failedWorkflow": loaded.workflow.to_conductor()}
            start = FailureWorkflowStart(entry["failureWorkflow"], {**request, "input": failed})
            _start_failure_workflow(runtime, start)
    if loaded.header.workflow.status.is_terminal:
        report_to_parent(runtime, loaded.header.workflow)
