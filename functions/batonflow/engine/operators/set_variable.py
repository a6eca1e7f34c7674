"""SET_VARIABLE (REFERENCE §4.11): write the task's resolved input into ``workflow.variables``.

Each input key overwrites the variable of that name (a shallow merge); later tasks read the new values with
``${workflow.variables.x}`` because :meth:`Decision.set_variables` invalidates the resolver document. The
merged variables must stay within :data:`MAX_VARIABLES_KB` once serialised as compact UTF-8 JSON (how Jackson
writes them, so the byte count in the message matches Conductor's); otherwise nothing is written and the task
fails terminally, which fails the workflow.
"""

from __future__ import annotations

import json
from typing import Any, Final

from batonflow.engine.context import Decision
from batonflow.engine.operators.base import Outcome, SyncOperator
from batonflow.model import TaskStatus, TaskType, WorkflowTask

MAX_VARIABLES_KB: Final = 256
"""Conductor's default ``maxWorkflowVariablesPayloadSizeThreshold`` (its test harness runs with 2)."""


def serialised_size(variables: dict[str, Any]) -> int:
    """Bytes of ``variables`` as compact UTF-8 JSON."""
    return len(
        json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    )


class SetVariableOperator(SyncOperator):
    task_types = (TaskType.SET_VARIABLE,)

    def __init__(self, max_variables_kb: int = MAX_VARIABLES_KB) -> None:
        self.max_variables_kb = max_variables_kb

    def run(self, decision: Decision, workflow_task: WorkflowTask, input_data: dict[str, Any]) -> Outcome:
        if not input_data:
            return Outcome(TaskStatus.COMPLETED)
        size = serialised_size({**decision.workflow.variables, **input_data})
        if size > self.max_variables_kb * 1024:
            reason = (
                f"The variables payload size: {size} of workflow: {decision.workflow.workflow_id} "
                f"is greater than the permissible limit: {self.max_variables_kb} kilobytes"
            )
            return Outcome(TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason=reason)
        decision.set_variables(input_data)
        return Outcome(TaskStatus.COMPLETED)
