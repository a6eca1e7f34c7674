"""What the queue functions that finish tasks share: each record on its own, then one decide per workflow.

Results (``CompleteFunction``) and system tasks (``SystemTaskFunction``) both change task attempts one
message at a time (a bad message fails alone: ReportBatchItemFailures), then see that each workflow whose
attempts changed is decided once, over those attempts.

The complete function decides them itself (:func:`process_then_decide`, see
``batonflow.service.deciding``). The system-task function only wakes the decider
(:func:`process_then_wake`): it calls users' HTTP endpoints, so it keeps a narrow role that cannot
dispatch tasks or write workflows, and its steps take as long as those calls anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.handlers.observability import logger
from batonflow.handlers.redelivery import redelivered as redelivered_record
from batonflow.model import Task
from batonflow.model.wire import DeciderReason
from batonflow.queues.sqs import wake_messages
from batonflow.service.deciding import decide_here
from batonflow.service.runtime import Runtime


def process_then_decide(
    event: dict[str, Any], context: Any, runtime: Runtime, handle: Callable[[SQSRecord], Task | None]
) -> dict[str, Any]:
    """Run ``handle`` on every record; then decide each workflow of the attempts it returns, here."""
    response, changed, redelivered = _process(event, context, handle)
    if changed:
        decide_here(
            runtime,
            wake_messages(changed, DeciderReason.TASK),
            redelivered,
            log_keys=lambda workflow_id: logger.append_context_keys(workflowId=workflow_id),
        )
    return response


def process_then_wake(
    event: dict[str, Any], context: Any, runtime: Runtime, handle: Callable[[SQSRecord], Task | None]
) -> dict[str, Any]:
    """Run ``handle`` on every record; then wake the decider for each attempt it returns."""
    response, changed, _ = _process(event, context, handle)
    if changed:
        runtime.queues.wake_for_tasks(changed, DeciderReason.TASK)
    return response


def _process(
    event: dict[str, Any], context: Any, handle: Callable[[SQSRecord], Task | None]
) -> tuple[dict[str, Any], list[tuple[str, str, int]], set[str]]:
    """The batch response; the changed attempts as (workflow id, task id, seq); the workflows that a
    redelivered message changed."""
    changed: list[tuple[str, str, int]] = []
    redelivered: set[str] = set()

    def record_handler(record: SQSRecord) -> None:
        task = handle(record)
        if task is not None and task.workflow_instance_id:
            changed.append((task.workflow_instance_id, task.task_id, task.seq))
            if redelivered_record(record):
                redelivered.add(task.workflow_instance_id)

    response = process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response, changed, redelivered
