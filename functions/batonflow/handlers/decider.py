"""Decider queue (FIFO, one message group per workflow) -> decide and apply the plan.

A batch may hold several messages for one workflow: they are decided together, once, over the union of
the attempts they name (results are written before their wake-up is sent, so that decide sees them all),
or over the whole workflow if any of them asks for that. The rest of that workflow's messages in the
batch are acknowledged without another decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.handlers import initialised
from batonflow.handlers.observability import instrument, logger
from batonflow.handlers.redelivery import redelivered as redelivered_record
from batonflow.model.wire import DeciderMessage, DeciderReason
from batonflow.service.executor import run_decide
from batonflow.service.runtime import Runtime

runtime = Runtime.from_env()
initialised()


@dataclass
class _Focus:
    """What one decide of a workflow looks at, merged over that workflow's messages in the batch."""

    task_ids: list[str]
    """The attempts the messages name; empty: the whole workflow."""
    large: bool
    redelivered: bool

    def merge(self, other: _Focus) -> None:
        self.task_ids = [*self.task_ids, *other.task_ids] if self.task_ids and other.task_ids else []
        self.large |= other.large
        self.redelivered |= other.redelivered


def _focus(event: dict[str, Any]) -> dict[str, _Focus]:
    focus: dict[str, _Focus] = {}
    for raw in event.get("Records", []):
        record = SQSRecord(raw)
        try:
            message = DeciderMessage.model_validate_json(record.body)
        except ValueError:
            continue  # refused by the record handler
        # a sweep means a wake-up was lost, perhaps with the effects of the commit that asked for it
        redelivered = message.reason in (DeciderReason.SWEEP, DeciderReason.RECOVER)
        redelivered |= redelivered_record(record)
        this = _Focus(list(message.task_ids), message.large, redelivered)
        if message.workflow_id in focus:
            focus[message.workflow_id].merge(this)
        else:
            focus[message.workflow_id] = this
    return focus


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    decided: set[str] = set()
    focus = _focus(event)

    def record_handler(record: SQSRecord) -> None:
        message = DeciderMessage.model_validate_json(record.body)
        if message.workflow_id in decided:
            return
        this = focus[message.workflow_id]
        with logger.append_context_keys(workflowId=message.workflow_id):
            run_decide(
                runtime,
                message.workflow_id,
                task_ids=this.task_ids,
                large=this.large,
                redelivered=this.redelivered,
            )
        decided.add(message.workflow_id)

    # the tasks of every workflow decided here go out together, batched; if sending fails, the whole
    # batch comes back and the redelivered decides repeat their outboxes
    with runtime.queues.held():
        return process_partial_response(
            event=event,
            record_handler=record_handler,
            processor=SqsFifoPartialProcessor(skip_group_on_error=True),
            context=context,
        )
