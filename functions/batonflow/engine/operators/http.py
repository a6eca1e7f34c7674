"""HTTP (REFERENCE §4.17): a system task dispatched exactly like a worker task.

The call itself never runs inside the decider: the task is queued on ``<prefix>task-HTTP`` and the
system-task function (``batonflow.handlers.system_tasks``) performs it and reports the result like a
worker. So retries, ``responseTimeoutSeconds``, ``timeoutSeconds`` and ``startDelay`` follow the TaskDef
named like the task, as for SIMPLE (ad hoc: no retries, no response timeout).

``asyncComplete``: Conductor's HTTP mapper takes the flag from the resolved input (``inputParameters``),
while its documentation puts it on the WorkflowTask; either one set makes the task wait IN_PROGRESS for an
external update after the call. The flag is copied into ``inputData`` as the mapper does (§3.13), and such
a task has no response timeout.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.operators.worker import WorkerOperator
from batonflow.model import TaskType, WorkflowTask

ASYNC_COMPLETE = "asyncComplete"


def async_complete(workflow_task: WorkflowTask, input_data: dict[str, Any]) -> bool:
    return workflow_task.async_complete or input_data.get(ASYNC_COMPLETE) is True


class HttpOperator(WorkerOperator):
    task_types = (TaskType.HTTP,)

    def queue_type(self, workflow_task: WorkflowTask) -> str:
        return workflow_task.type

    def input_for(self, decision: Decision, workflow_task: WorkflowTask, task_id: str) -> dict[str, Any]:
        input_data = super().input_for(decision, workflow_task, task_id)
        input_data[ASYNC_COMPLETE] = async_complete(workflow_task, input_data)
        return input_data

    def _response_timeout(self, workflow_task: WorkflowTask) -> int:
        if async_complete(workflow_task, workflow_task.input_parameters):
            return 0
        return super()._response_timeout(workflow_task)
