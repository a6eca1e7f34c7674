"""The document ``${...}`` paths are read from (REFERENCE §2.4).

Roots: ``workflow`` (a fixed set of workflow fields) and one entry per task reference name. Several
instances of a reference (retries, loop iterations ``ref__N``) collapse onto the base name, and the one
scheduled last wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from batonflow.model import Task, Workflow

LOOP_SUFFIX = "__"


def base_reference(reference_name: str) -> str:
    """``ref__3`` -> ``ref`` (Conductor splits on ``__``; a reference that itself holds ``__`` breaks too)."""
    return reference_name.split(LOOP_SUFFIX, 1)[0]


def workflow_document(workflow: Workflow) -> dict[str, Any]:
    definition = workflow.workflow_definition
    return {
        "input": workflow.input,
        "output": workflow.output,
        "status": workflow.status.value,
        "workflowId": workflow.workflow_id,
        "parentWorkflowId": workflow.parent_workflow_id,
        "parentWorkflowTaskId": workflow.parent_workflow_task_id,
        "workflowType": workflow.workflow_name,
        "version": workflow.workflow_version,
        "correlationId": workflow.correlation_id,
        "reasonForIncompletion": workflow.reason_for_incompletion,
        "schemaVersion": definition.schema_version if definition else 2,
        "variables": workflow.variables,
    }


def task_document(task: Task) -> dict[str, Any]:
    return {
        "input": task.input_data,
        "output": task.output_data,
        "taskType": task.task_type,
        "status": task.status.value,
        "referenceTaskName": task.reference_task_name,
        "retryCount": task.retry_count,
        "correlationId": task.correlation_id,
        "pollCount": task.poll_count,
        "taskDefName": task.task_def_name,
        "scheduledTime": task.scheduled_time,
        "startTime": task.start_time,
        "endTime": task.end_time,
        "workflowInstanceId": task.workflow_instance_id,
        "taskId": task.task_id,
        "reasonForIncompletion": task.reason_for_incompletion,
        "callbackAfterSeconds": task.callback_after_seconds,
        "workerId": task.worker_id,
        "iteration": task.iteration,
    }


def build_document(workflow: Workflow, tasks: Iterable[Task]) -> dict[str, Any]:
    document: dict[str, Any] = {"workflow": workflow_document(workflow)}
    for task in sorted(tasks, key=lambda t: t.seq):
        document[base_reference(task.reference_task_name)] = task_document(task)
    return document
