"""JSON_JQ_TRANSFORM (REFERENCE §4.14): run a jq program over the task's input inside the decide.

The program's input is the whole resolved inputData, ``queryExpression`` included, so programs usually
start with ``.someInput``. Output: ``result`` (the first value, or null) and ``resultList`` (all values).
Failures are plain FAILED (retried when the TaskDef allows it), with the message in ``outputData.error``. A
``queryExpression`` that is not a string counts as missing (Conductor would fail on its cast to String).
"""

from __future__ import annotations

from typing import Any, Final

from batonflow.engine.context import Decision
from batonflow.engine.jq_transform import JqError, transform
from batonflow.engine.operators.base import Outcome, SyncOperator
from batonflow.model import TaskStatus, TaskType, WorkflowTask

_MISSING_QUERY: Final = "Missing 'queryExpression' in input parameters"


class JsonJqOperator(SyncOperator):
    task_types = (TaskType.JSON_JQ_TRANSFORM,)

    def run(self, decision: Decision, workflow_task: WorkflowTask, input_data: dict[str, Any]) -> Outcome:
        query = input_data.get("queryExpression")
        if not isinstance(query, str):
            return Outcome(TaskStatus.FAILED, reason=_MISSING_QUERY)
        try:
            output = transform(query, input_data)
        except JqError as error:
            return Outcome(TaskStatus.FAILED, {"error": str(error)}, str(error))
        return Outcome(TaskStatus.COMPLETED, output)
