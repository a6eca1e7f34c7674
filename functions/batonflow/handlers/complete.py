"""Results queue (SQS-native workers) -> apply each result, then decide each touched workflow once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.errors import BadRequestError, NotFoundError
from batonflow.handlers import initialised
from batonflow.handlers.observability import instrument, logger
from batonflow.handlers.task_batches import process_then_decide
from batonflow.model import Task
from batonflow.model.wire import ResultMessage
from batonflow.service.runtime import Runtime
from batonflow.service.tasks import apply_result

runtime = Runtime.from_env()
initialised()


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_then_decide(event, context, runtime, _apply)


def _apply(record: SQSRecord) -> Task | None:
    """Apply one result; the attempt to wake the decider for, if any."""
    try:
        result = ResultMessage.model_validate_json(record.body)
    except ValueError:
        logger.error("dropping a malformed result message", extra={"messageId": record.message_id})
        return None
    with logger.append_context_keys(workflowId=result.workflow_instance_id, taskId=result.task_id):
        try:
            outcome = apply_result(runtime, result, allow_timed_out=True)
        except (NotFoundError, BadRequestError) as error:
            logger.warning("dropping a result that cannot apply: %s", error.message)
            return None
    return outcome.task if outcome.wakes_decider else None
