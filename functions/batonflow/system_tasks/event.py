"""EVENT task: publish the task's payload to the SQS queue its sink names (REFERENCE §4.18).

The payload is Conductor's: the task input (with ``sink`` and ``asyncComplete``) plus ``workflowInstanceId``,
``workflowType``, ``workflowVersion``, ``correlationId``, ``taskToDomain`` and ``event_produced`` (the
sink). It becomes the task output and, as JSON, the message body. A FIFO queue (``.fifo``) gets the
workflow id as message group and the task id as deduplication id, so one attempt is published once.

A queue that does not exist, or that this function may not send to, fails the task (the TaskDef's retries
apply); throttling and other transient SQS errors raise, so the task message is delivered again.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from batonflow.model import Task, TaskStatus, Workflow
from batonflow.model.task_rules import sqs_sink_queue
from batonflow.system_tasks.outcome import SystemOutcome

EVENT_PRODUCED = "event_produced"
_MISSING_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_REFUSED = frozenset({"AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException"})


def payload(task: Task, workflow: Workflow) -> dict[str, Any]:
    """The message and the task output, without ``event_produced``."""
    return {
        **task.input_data,
        "workflowInstanceId": workflow.workflow_id,
        "workflowType": workflow.workflow_name,
        "workflowVersion": workflow.workflow_version,
        "correlationId": workflow.correlation_id,
        "taskToDomain": workflow.task_to_domain,
    }


def unsupported_sink(sink: Any) -> SystemOutcome:
    return SystemOutcome(
        TaskStatus.FAILED, {}, f"Unsupported sink: {sink}. EVENT tasks publish to sqs:<queue name> only"
    )


def publish(sqs: Any, task: Task, workflow: Workflow) -> SystemOutcome:
    """Send the payload; COMPLETED, or IN_PROGRESS when the task is ``asyncComplete``."""
    sink = task.input_data.get("sink")
    queue = sqs_sink_queue(sink)
    if queue is None:
        return unsupported_sink(sink)
    output = payload(task, workflow)
    try:
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        output[EVENT_PRODUCED] = sink
        message: dict[str, Any] = {"QueueUrl": url, "MessageBody": json.dumps(output)}
        if queue.endswith(".fifo"):
            message["MessageGroupId"] = task.workflow_instance_id or task.task_id
            message["MessageDeduplicationId"] = task.task_id
        sqs.send_message(**message)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _MISSING_QUEUE:
            return _failed(output, f"Error publishing to {sink}: queue {queue} does not exist")
        if code in _REFUSED:
            return _failed(output, f"Error publishing to {sink}: {error}")
        raise
    status = TaskStatus.IN_PROGRESS if task.input_data.get("asyncComplete") is True else TaskStatus.COMPLETED
    return SystemOutcome(status, output)


def _failed(output: dict[str, Any], reason: str) -> SystemOutcome:
    output.pop(EVENT_PRODUCED, None)
    return SystemOutcome(TaskStatus.FAILED, output, reason)
