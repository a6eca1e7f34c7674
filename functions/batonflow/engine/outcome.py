"""How a workflow ends: its output, failed-task lists and the cancelling of what still runs (§3.7, §3.8)."""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.inputs import resolve_parameters
from batonflow.engine.plan import WorkflowChange
from batonflow.model import Task, TaskStatus, WorkflowStatus

_FAILED = (TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR)


def workflow_output(decision: Decision) -> dict[str, Any]:
    """``outputParameters`` resolved over the final state, else the output of the last task by seq."""
    if decision.definition.output_parameters:
        return resolve_parameters(decision, decision.definition.output_parameters)
    tasks = decision.tasks()
    return dict(tasks[-1].output_data) if tasks else {}


def cancel_open_tasks(decision: Decision) -> None:
    for task in decision.tasks():
        if not task.status.is_terminal:
            decision.update_task(
                task.model_copy(
                    update={
                        "status": TaskStatus.CANCELED,
                        "end_time": decision.now,
                        "update_time": decision.now,
                    }
                )
            )


def _failed_names(decision: Decision) -> tuple[tuple[str, ...], tuple[str, ...]]:
    failed = [t for t in decision.tasks() if t.status in _FAILED]
    references = tuple(dict.fromkeys(t.reference_task_name for t in failed))
    names = tuple(dict.fromkeys(t.task_def_name for t in failed))
    return references, names


def end_workflow(
    decision: Decision,
    status: WorkflowStatus,
    reason: str | None,
    *,
    output: dict[str, Any] | None = None,
) -> None:
    """End the workflow: cancel what still runs, compute the output (unless given) and failed-task lists."""
    if decision.ended:
        return
    cancel_open_tasks(decision)
    references, names = _failed_names(decision)
    decision.end(
        WorkflowChange(
            status=status,
            output=workflow_output(decision) if output is None else output,
            reason_for_incompletion=reason,
            end_time=decision.now,
            failed_reference_task_names=references,
            failed_task_names=names,
        )
    )
    if status != WorkflowStatus.COMPLETED:
        decision.note(f"workflow {status.value}: {reason}")


def complete_workflow(decision: Decision, *, reason: str | None = None) -> None:
    end_workflow(decision, WorkflowStatus.COMPLETED, reason)


def workflow_status_for(task: Task) -> WorkflowStatus:
    """Workflow status when ``task`` ends it: CANCELED -> TERMINATED, TIMED_OUT -> TIMED_OUT, else FAILED."""
    if task.status == TaskStatus.CANCELED:
        return WorkflowStatus.TERMINATED
    if task.status == TaskStatus.TIMED_OUT:
        return WorkflowStatus.TIMED_OUT
    return WorkflowStatus.FAILED


def fail_for_task(decision: Decision, task: Task) -> None:
    status = workflow_status_for(task)
    reason_text = task.reason_for_incompletion if task.reason_for_incompletion is not None else "null"
    end_workflow(
        decision,
        status,
        f"Task {task.task_id} failed with status: {status.value} and reason: '{reason_text}'",
    )


def fail_workflow(decision: Decision, reason: str) -> None:
    """A definition or mapping error at run time (e.g. a FORK not followed by a JOIN)."""
    end_workflow(decision, WorkflowStatus.FAILED, reason)
