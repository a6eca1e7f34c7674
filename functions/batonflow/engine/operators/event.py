"""EVENT (REFERENCE §4.18): publish the task's input to a queue, dispatched like a worker task.

Conductor publishes inside the decide; Baton queues the task on ``<prefix>task-EVENT`` and the system-task
function publishes it (DESIGN §3 step 6), so a slow or failing queue never holds up a decide and retries
follow the TaskDef as for SIMPLE. Only ``sqs:<queue name>`` sinks are supported (refused otherwise at
registration, see ``batonflow.model.task_rules``); Conductor's internal ``conductor`` sinks feed its event
handlers, which Baton does not have.

As Conductor's mapper does, ``inputData`` holds the resolved ``inputParameters`` plus ``sink`` and
``asyncComplete`` (the WorkflowTask's flag). The sink is resolved here, when the task is scheduled (Conductor
resolves it when the task starts; the document a task sees is frozen at scheduling anyway, §2.1), so the
input shows the queue the message goes to. The TaskDef's ``inputTemplate`` is not applied (§2.6).
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.expressions import resolve
from batonflow.engine.operators.http import ASYNC_COMPLETE
from batonflow.engine.operators.worker import WorkerOperator
from batonflow.model import TaskType, WorkflowTask


class EventOperator(WorkerOperator):
    task_types = (TaskType.EVENT,)

    def queue_type(self, workflow_task: WorkflowTask) -> str:
        return workflow_task.type

    def input_for(self, decision: Decision, workflow_task: WorkflowTask, task_id: str) -> dict[str, Any]:
        document = decision.document()
        environment = decision.state.environment
        input_data: dict[str, Any] = resolve(
            workflow_task.input_parameters, document, task_id=task_id, environment=environment
        )
        input_data["sink"] = resolve(workflow_task.sink, document, task_id=task_id, environment=environment)
        input_data[ASYNC_COMPLETE] = workflow_task.async_complete
        return input_data

    def _response_timeout(self, workflow_task: WorkflowTask) -> int:
        return 0 if workflow_task.async_complete else super()._response_timeout(workflow_task)
