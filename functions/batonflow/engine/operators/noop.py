"""NOOP (REFERENCE §4.21): completes at once and does nothing.

Conductor never copies a NOOP's ``inputParameters`` into the task, so ``inputData`` stays ``{}`` and no
template is resolved (a broken expression in a NOOP's input cannot fail it).
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.operators.base import Outcome, SyncOperator
from batonflow.model import TaskStatus, TaskType, WorkflowTask


class NoopOperator(SyncOperator):
    task_types = (TaskType.NOOP,)

    def input_for(self, decision: Decision, workflow_task: WorkflowTask, task_id: str) -> dict[str, Any]:
        return {}

    def run(self, decision: Decision, workflow_task: WorkflowTask, input_data: dict[str, Any]) -> Outcome:
        return Outcome(TaskStatus.COMPLETED)
