"""Task messages as the engine sends them to worker queues."""

from __future__ import annotations

from batonflow.model import Task
from batonflow.model.wire import TaskMessage


def task_message(task: Task) -> TaskMessage:
    return TaskMessage(
        workflowInstanceId=task.workflow_instance_id,
        taskId=task.task_id,
        taskType=task.task_type,
        taskDefName=task.task_def_name,
        referenceTaskName=task.reference_task_name,
        retryCount=task.retry_count,
        inputData=task.input_data,
        responseTimeoutSeconds=task.response_timeout_seconds,
        workflowType=task.workflow_type,
        correlationId=task.correlation_id,
        scheduledTime=task.scheduled_time,
    )
