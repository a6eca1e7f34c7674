"""Whether an SQS record may have been handled before: what the queue functions decide their repairs by.

Its own module, not the handlers package's, so that the handlers without an SQS event source (API, sweeper,
reaper) do not import Powertools' data classes at cold start for it.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.model.wire import REDRIVEN_ATTRIBUTE


def redelivered(record: SQSRecord) -> bool:
    """Whether the message may have been handled before, perhaps up to a crash after its commit: received
    before, or sent back from a dead-letter queue by ``baton dlq redrive``."""
    if int(record.attributes.approximate_receive_count or "1") > 1:
        return True
    return REDRIVEN_ATTRIBUTE in (record.raw_event.get("messageAttributes") or {})
