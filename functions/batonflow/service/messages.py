"""Task messages as the engine sends them to worker queues."""

from __future__ import annotations

from batonflow.model import Task
from batonflow.model.wire import TaskMessage
from batonflow.store.layout import is_held, packed_attempt
from batonflow.store.payloads import Payloads


def task_message(task: Task, payloads: Payloads | None = None) -> TaskMessage:
    """The message for an attempt; a large input travels as its S3 reference (an SQS message holds at
    most 256 KB). The store wrote the same object when it wrote the attempt, so this costs no S3 call.
    An attempt held in its workflow's header travels with its record (``attempt``)."""
    input_data = task.input_data
    if payloads is not None:
        input_data = payloads.offload(input_data, task.workflow_instance_id)
    return TaskMessage(
        workflowInstanceId=task.workflow_instance_id,
        taskId=task.task_id,
        taskType=task.task_type,
        taskDefName=task.task_def_name,
        referenceTaskName=task.reference_task_name,
        retryCount=task.retry_count,
        inputData=input_data,
        responseTimeoutSeconds=task.response_timeout_seconds,
        workflowType=task.workflow_type,
        correlationId=task.correlation_id,
        scheduledTime=task.scheduled_time,
        attempt=packed_attempt(task.model_copy(update={"input_data": input_data})) if is_held(task) else None,
    )
