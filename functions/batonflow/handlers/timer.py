"""Timer queue -> when due, wake a workflow or deliver a delayed task; if not due yet, wait again.

SQS delays are capped at 15 minutes, so a longer timer is re-sent with the remaining delay until due.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.handlers import initialised
from batonflow.handlers.observability import instrument, logger
from batonflow.model.wire import DeciderReason, TimerMessage
from batonflow.service.runtime import Runtime
from batonflow.service.timers import fire_timers

runtime = Runtime.from_env()
initialised()


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    timers: list[TimerMessage] = []

    def record_handler(record: SQSRecord) -> None:
        try:
            timers.append(TimerMessage.model_validate_json(record.body))
        except ValueError:
            logger.error("dropping a malformed timer message", extra={"messageId": record.message_id})

    response = process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    fire_timers(runtime, timers, reason=DeciderReason.TIMER)
    return response
