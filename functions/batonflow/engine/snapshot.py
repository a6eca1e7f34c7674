"""Embedding task definitions into a workflow definition snapshot (REFERENCE §1.1, §1.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batonflow.model import TaskDef, TaskType, WorkflowDef, WorkflowTask


def ad_hoc_task_def(task: WorkflowTask) -> TaskDef:
    """What a task without a registered definition gets: Conductor's defaults for SIMPLE; for any other
    type no retries and no response timeout."""
    if task.type == TaskType.SIMPLE:
        return TaskDef(name=task.name)
    return TaskDef(name=task.name, retry_count=0, response_timeout_seconds=0)


def embed_task_defs(definition: WorkflowDef, registered: Callable[[str], TaskDef | None]) -> WorkflowDef:
    """Every WorkflowTask, nested ones included, with its TaskDef: inline, else registered, else ad hoc."""

    def embed(task: WorkflowTask) -> WorkflowTask:
        update: dict[str, Any] = {}
        if task.task_definition is None:
            update["task_definition"] = registered(task.name) or ad_hoc_task_def(task)
        if task.decision_cases:
            update["decision_cases"] = {k: [embed(t) for t in v] for k, v in task.decision_cases.items()}
        if task.default_case:
            update["default_case"] = [embed(t) for t in task.default_case]
        if task.fork_tasks:
            update["fork_tasks"] = [[embed(t) for t in branch] for branch in task.fork_tasks]
        if task.loop_over:
            update["loop_over"] = [embed(t) for t in task.loop_over]
        return task.model_copy(update=update) if update else task

    return definition.model_copy(update={"tasks": [embed(t) for t in definition.tasks]})
