"""Results queue (SQS-native workers) -> apply each result, then wake each touched workflow once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.errors import BadRequestError, NotFoundError
from batonflow.model.wire import DeciderReason, ResultMessage
from batonflow.service.runtime import Runtime
from batonflow.service.tasks import apply_result

logger = Logger()
runtime = Runtime.from_env()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    to_wake: list[tuple[str, str, int]] = []

    def record_handler(record: SQSRecord) -> None:
        try:
            result = ResultMessage.model_validate_json(record.body)
        except ValueError:
            logger.error("dropping a malformed result message", extra={"messageId": record.message_id})
            return
        try:
            outcome = apply_result(runtime, result, allow_timed_out=True)
        except (NotFoundError, BadRequestError) as error:
            logger.warning(
                "dropping a result that cannot apply: %s", error.message, extra={"taskId": result.task_id}
            )
            return
        if outcome.wakes_decider:
            to_wake.append((result.workflow_instance_id, result.task_id, outcome.task.seq))

    response = process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    if to_wake:
        runtime.queues.wake_for_tasks(to_wake, DeciderReason.TASK)
    return response
