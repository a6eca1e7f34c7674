"""Table stream -> when a workflow header is deleted (retention TTL), delete the rest of that workflow.

DynamoDB's TTL deletes the header item only (``expiresAt`` is on headers alone); this function gets the
stream's REMOVE record of it and deletes the workflow's task attempts, their log partitions and its large
payloads in the payload bucket (``payloads/<workflowId>/``). The event
source's FilterCriteria (template.yaml) passes only REMOVE records of header keys, so the function is not
invoked for the table's other writes; the same test here keeps it right should the filter be widened.

Idempotent: a redelivered record, or the REMOVE that an explicit ``DELETE .../remove`` causes, finds an
empty partition; a header that exists again (an id re-used) is left alone with everything under it.
Failed records are reported with ``ReportBatchItemFailures``, so the stream is retried from the first one.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from batonflow.handlers import initialised
from batonflow.handlers.observability import instrument, logger
from batonflow.service.runtime import Runtime
from batonflow.store.layout import HEADER_SK, workflow_pk

runtime = Runtime.from_env()
initialised()

_WORKFLOW_PK_PREFIX = workflow_pk("")


def removed_workflow(record: DynamoDBRecord) -> str | None:
    """The workflow id whose header this stream record removes, None for any other record."""
    if record.event_name != DynamoDBRecordEventName.REMOVE or record.dynamodb is None:
        return None
    keys = record.dynamodb.keys or {}
    pk, sk = keys.get("PK"), keys.get("SK")
    if sk != HEADER_SK or not isinstance(pk, str) or not pk.startswith(_WORKFLOW_PK_PREFIX):
        return None
    return pk.removeprefix(_WORKFLOW_PK_PREFIX) or None


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def record_handler(record: DynamoDBRecord) -> None:
        workflow_id = removed_workflow(record)
        if workflow_id is None:
            return
        deleted = runtime.executions.purge_remains(workflow_id)
        if deleted:
            logger.info("purged an expired workflow", extra={"workflowId": workflow_id, "items": deleted})

    return process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.DynamoDBStreams),
        context=context,
    )
