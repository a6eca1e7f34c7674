"""Decider queue (FIFO, one message group per workflow) -> decide and apply the plan.

A batch may hold several messages for one workflow; the first decide already sees everything the later
messages announce (results are written before their wake-up is sent), so the rest of that workflow's
messages in the batch are acknowledged without another decide.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.model.wire import DeciderMessage
from batonflow.service.executor import run_decide
from batonflow.service.runtime import Runtime

logger = Logger()
runtime = Runtime.from_env()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    decided: set[str] = set()

    def record_handler(record: SQSRecord) -> None:
        message = DeciderMessage.model_validate_json(record.body)
        if message.workflow_id in decided:
            return
        logger.append_keys(workflowId=message.workflow_id)
        redelivered = int(record.attributes.approximate_receive_count or "1") > 1
        run_decide(runtime, message.workflow_id, redelivered=redelivered)
        decided.add(message.workflow_id)

    return process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=SqsFifoPartialProcessor(skip_group_on_error=True),
        context=context,
    )
