"""System-task queues (``task-HTTP``, ``task-EVENT``) -> run each task, then wake each touched workflow once.

The rules (leasing, redelivery, writing the result) are in :mod:`batonflow.system_tasks.runner`. Each
call's time budget is what is left of this invocation, less a margin to write the result: an HTTP call
never outlives the Lambda that makes it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.errors import NotFoundError
from batonflow.handlers import initialised
from batonflow.handlers.observability import instrument, logger
from batonflow.handlers.redelivery import redelivered
from batonflow.handlers.task_batches import process_then_wake
from batonflow.model import Task
from batonflow.model.wire import TaskMessage
from batonflow.service.runtime import Runtime
from batonflow.system_tasks.http import new_pool
from batonflow.system_tasks.runner import SystemTaskRunner

runtime = Runtime.from_env()
pool = new_pool()
initialised()

WRITE_MARGIN_MS = 5000
"""Kept back from the remaining time for the writes and the wake-up after a call."""
MIN_BUDGET_MS = 100


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    runner = SystemTaskRunner(runtime, pool=pool)

    def run(record: SQSRecord) -> Task | None:
        try:
            message = TaskMessage.model_validate_json(record.body)
        except ValueError:
            logger.error("dropping a malformed task message", extra={"messageId": record.message_id})
            return None
        budget_ms = max(context.get_remaining_time_in_millis() - WRITE_MARGIN_MS, MIN_BUDGET_MS)
        with logger.append_context_keys(
            workflowId=message.workflow_instance_id, taskId=message.task_id, taskType=message.task_type
        ):
            try:
                return runner.run(
                    message,
                    worker_id=context.function_name,
                    redelivered=redelivered(record),
                    budget_ms=budget_ms,
                )
            except NotFoundError as error:
                logger.warning("dropping a task message that cannot run: %s", error.message)
                return None

    return process_then_wake(event, context, runtime, run)
