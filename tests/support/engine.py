"""Drive ``decide()`` without AWS: an in-memory workflow, plans applied to it, and worker actions."""

from __future__ import annotations

from typing import Any

from batonflow.engine.decider import decide
from batonflow.engine.plan import Plan
from batonflow.engine.snapshot import embed_task_defs
from batonflow.engine.state import WorkflowState
from batonflow.model import TaskDef, TaskStatus, Workflow, WorkflowDef, WorkflowStatus

T0 = 1_700_000_000_000


def definition(
    tasks: list[dict[str, Any]], task_defs: dict[str, dict[str, Any]] | None = None, **extra: Any
) -> WorkflowDef:
    """A definition snapshot with TaskDefs embedded as the start service would (defaults when not given)."""
    task_defs = task_defs or {}
    parsed = WorkflowDef.model_validate({"name": extra.pop("name", "wf"), "tasks": tasks, **extra})

    def registered(name: str) -> TaskDef | None:
        return TaskDef.model_validate({"name": name, **task_defs[name]}) if name in task_defs else None

    return embed_task_defs(parsed, registered)


def new_workflow(
    defn: WorkflowDef, workflow_input: dict[str, Any] | None = None, *, now: int = T0
) -> WorkflowState:
    workflow = Workflow(
        workflow_id="wf-1",
        workflow_definition=defn,
        status=WorkflowStatus.RUNNING,
        input=workflow_input or {},
        create_time=now,
        update_time=now,
    )
    return WorkflowState(workflow=workflow)


def apply(state: WorkflowState, plan: Plan) -> WorkflowState:
    """What the executor would store after committing ``plan``."""
    tasks = {t.task_id: t for t in state.workflow.tasks}
    for task in plan.new_tasks:
        tasks.setdefault(task.task_id, task)
    for change in plan.task_changes:
        assert tasks[change.task.task_id].status == change.expected_status
        tasks[change.task.task_id] = change.task
    for task_id in plan.removed_tasks:
        tasks.pop(task_id, None)
    update: dict[str, Any] = {"tasks": sorted(tasks.values(), key=lambda t: t.seq)}
    if plan.workflow is not None:
        fields = {
            "status": plan.workflow.status,
            "output": plan.workflow.output,
            "variables": plan.workflow.variables,
            "reason_for_incompletion": plan.workflow.reason_for_incompletion,
            "end_time": plan.workflow.end_time,
            "failed_reference_task_names": list(plan.workflow.failed_reference_task_names)
            if plan.workflow.failed_reference_task_names is not None
            else None,
            "failed_task_names": list(plan.workflow.failed_task_names)
            if plan.workflow.failed_task_names is not None
            else None,
        }
        update.update({k: v for k, v in fields.items() if v is not None})
    return WorkflowState(workflow=state.workflow.model_copy(update=update), generation=state.generation)


def step(state: WorkflowState, now: int) -> tuple[WorkflowState, Plan]:
    plan = decide(state, now)
    return apply(state, plan), plan


def current(state: WorkflowState, reference: str):
    attempts = [t for t in state.workflow.tasks if t.reference_task_name == reference]
    assert attempts, f"no task {reference}"
    return max(attempts, key=lambda t: (t.retry_count, t.seq))


def worker_poll(state: WorkflowState, reference: str, now: int) -> WorkflowState:
    task = current(state, reference)
    assert task.status == TaskStatus.SCHEDULED
    leased = task.model_copy(
        update={
            "status": TaskStatus.IN_PROGRESS,
            "start_time": now,
            "update_time": now,
            "poll_count": task.poll_count + 1,
        }
    )
    return _replace(state, leased)


def worker_result(
    state: WorkflowState,
    reference: str,
    now: int,
    *,
    status: TaskStatus = TaskStatus.COMPLETED,
    output: dict[str, Any] | None = None,
    reason: str | None = None,
) -> WorkflowState:
    task = current(state, reference)
    assert not task.status.is_terminal
    done = task.model_copy(
        update={
            "status": status,
            "output_data": output or {},
            "reason_for_incompletion": reason,
            "end_time": now,
            "update_time": now,
            "start_time": task.start_time or now,
        }
    )
    return _replace(state, done)


def _replace(state: WorkflowState, task) -> WorkflowState:
    tasks = [task if t.task_id == task.task_id else t for t in state.workflow.tasks]
    return WorkflowState(
        workflow=state.workflow.model_copy(update={"tasks": tasks}), generation=state.generation
    )


AD_HOC_SYSTEM_DEF: dict[str, Any] = {"retryCount": 0, "responseTimeoutSeconds": 0}
"""The TaskDef a non-SIMPLE task without a registered def gets at start (REFERENCE §1.5): no retries."""


def register_operators(monkeypatch: Any, *operators: Any) -> None:
    """Make ``decide()`` use these operator instances in one test (e.g. with a shorter script time limit)."""
    from batonflow.engine import operators as registry

    for operator in operators:
        for task_type in operator.task_types:
            monkeypatch.setitem(registry._BY_TYPE, task_type, operator)
