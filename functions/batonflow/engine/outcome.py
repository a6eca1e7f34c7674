"""How a workflow ends: its output, failed-task lists and the cancelling of what still runs (§3.7, §3.8)."""

from __future__ import annotations

import uuid
from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.inputs import resolve_parameters
from batonflow.engine.plan import FailureWorkflowStart, WorkflowChange
from batonflow.model import Task, TaskStatus, WorkflowStatus

_FAILED = (TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR)
_FAILURE_NAMESPACE = uuid.UUID("3c8f2a8e-7d0f-4f6a-b1f5-4f4b7a2f6e90")


def workflow_output(decision: Decision) -> dict[str, Any]:
    """``outputParameters`` resolved over the final state, else the output of the last task by seq."""
    if decision.definition.output_parameters:
        return resolve_parameters(decision, decision.definition.output_parameters)
    tasks = decision.all_tasks("the workflow output is the last task's")
    return dict(tasks[-1].output_data) if tasks else {}


def cancel_open_tasks(decision: Decision, *, loaded_only: bool = False) -> None:
    """Cancel every unfinished attempt (``loaded_only``: those this decide has loaded)."""
    tasks = decision.tasks() if loaded_only else decision.all_tasks("cancel what still runs")
    for task in tasks:
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
    failed = [t for t in decision.all_tasks("list the failed tasks") if t.status in _FAILED]
    references = tuple(dict.fromkeys(t.reference_task_name for t in failed))
    names = tuple(dict.fromkeys(t.task_def_name for t in failed))
    return references, names


def end_workflow(
    decision: Decision,
    status: WorkflowStatus,
    reason: str | None,
    *,
    output: dict[str, Any] | None = None,
    failed_task: Task | None = None,
    run_failure_workflow: bool = True,
) -> None:
    """End the workflow: cancel what still runs, compute the output (unless given) and failed-task lists,
    and, for a failure the engine decided (not an API terminate), start the ``failureWorkflow``."""
    if decision.ended:
        return
    cancel_open_tasks(decision)
    references, names = _failed_names(decision)
    final_output = workflow_output(decision) if output is None else dict(output)
    if run_failure_workflow and not status.is_successful:
        failure_id = _failure_workflow(decision, status, reason, failed_task)
        if failure_id is not None:
            final_output["conductor.failure_workflow"] = failure_id
    decision.end(
        WorkflowChange(
            status=status,
            output=final_output,
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
    reason = f"Task {task.task_id} failed with status: {status.value} and reason: '{reason_text}'"
    end_workflow(decision, status, reason, failed_task=task)


def fail_workflow(decision: Decision, reason: str) -> None:
    """A definition or mapping error at run time (e.g. a FORK not followed by a JOIN)."""
    end_workflow(decision, WorkflowStatus.FAILED, reason)


def failure_workflow_name(decision: Decision) -> str | None:
    """``failureWorkflow`` literally, or ``$workflow.input.<key>``: the third dot-segment names an input key
    (Conductor's rule; a ``${...}`` form therefore finds nothing)."""
    name = decision.definition.failure_workflow
    if not name:
        return None
    if name.startswith("$"):
        parts = name.split(".")
        value = decision.workflow.input.get(parts[2]) if len(parts) > 2 else None
        return value if isinstance(value, str) and value else None
    return name


def _failure_workflow(
    decision: Decision, status: WorkflowStatus, reason: str | None, failed_task: Task | None
) -> str | None:
    name = failure_workflow_name(decision)
    if name is None:
        return None
    workflow = decision.workflow
    failure_id = str(uuid.uuid5(_FAILURE_NAMESPACE, workflow.workflow_id or ""))
    failure_input: dict[str, Any] = {
        **workflow.input,
        "workflowId": workflow.workflow_id,
        "reason": reason,
        "failureStatus": status.value,
        "failedWorkflow": workflow.model_copy(
            update={
                "tasks": decision.all_tasks("failure workflow input"),
                "status": status,
                "reason_for_incompletion": reason,
            }
        ).to_conductor(),
    }
    if failed_task is not None:
        failure_input["failureTaskId"] = failed_task.task_id
    request: dict[str, Any] = {"name": name, "input": failure_input}
    if decision.definition.failure_workflow_version is not None:
        request["version"] = decision.definition.failure_workflow_version
    if workflow.correlation_id is not None:
        request["correlationId"] = workflow.correlation_id
    if workflow.task_to_domain:
        request["taskToDomain"] = workflow.task_to_domain
    decision.start_failure_workflow(FailureWorkflowStart(failure_id, request))
    return failure_id
