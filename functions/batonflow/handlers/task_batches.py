"""What the queue functions that finish tasks share: each record on its own, then one wake-up per workflow.

Results (``CompleteFunction``) and system tasks (``SystemTaskFunction``) both change task attempts one
message at a time (a bad message fails alone: ReportBatchItemFailures), and then ask the decider to look
at the attempts they changed, one batched send for the whole invocation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.model import Task
from batonflow.model.wire import DeciderReason
from batonflow.service.runtime import Runtime


def process_then_wake(
    event: dict[str, Any], context: Any, runtime: Runtime, handle: Callable[[SQSRecord], Task | None]
) -> dict[str, Any]:
    """Run ``handle`` on every record; wake the decider for each attempt it returns."""
    changed: list[tuple[str, str, int]] = []

    def record_handler(record: SQSRecord) -> None:
        task = handle(record)
        if task is not None and task.workflow_instance_id:
            changed.append((task.workflow_instance_id, task.task_id, task.seq))

    response = process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    if changed:
        runtime.queues.wake_for_tasks(changed, DeciderReason.TASK)
    return response
