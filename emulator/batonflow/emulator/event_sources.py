"""SQS event source mappings: poll a queue, build Lambda's SQS event, honour partial batch failures.

What Lambda does and we copy: up to ``BatchSize`` messages per invocation, the exact record shape
(:func:`sqs_record`), and with ``ReportBatchItemFailures`` only the records *not* listed in
``batchItemFailures`` are deleted; an invalid failure list (an unknown or empty ``itemIdentifier``) fails
the whole batch, as does a handler that raises. Redrive to the DLQ after ``maxReceiveCount`` is the
endpoint's job (moto does it on receive).

Local deviations, on purpose:

* a failed message is made visible again after ``failure_backoff_s`` (default 1 s) instead of the
  queue's visibility timeout (120 s in our template), so a local retry takes a second, not two minutes;
* long polls wait 1 s, so stopping the stack takes about a second;
* ``MaximumBatchingWindowInSeconds`` is not waited for: whatever is available is batched at once;
* concurrency is a fixed number of pollers per mapping (default 1), where Lambda scales out.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batonflow.emulator.background import BackgroundLoop

if TYPE_CHECKING:
    from batonflow.emulator.faults import FaultInjector

logger = logging.getLogger(__name__)

_SQS_RECEIVE_LIMIT = 10
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
)


@dataclass(frozen=True)
class SqsSource:
    """One SQS event of one function, with the queue resolved."""

    function: str
    queue_url: str
    queue_arn: str
    region: str
    batch_size: int = 10
    report_batch_item_failures: bool = False


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message in the shape Lambda puts in ``event["Records"]``."""
    attributes = message.get("Attributes") or {}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {name: attributes[name] for name in _RECORD_ATTRIBUTES if name in attributes},
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update(
        md5OfBody=message["MD5OfBody"],
        eventSource="aws:sqs",
        eventSourceARN=queue_arn,
        awsRegion=region,
    )
    return record


class SqsPoller(BackgroundLoop):
    """Feeds one queue to one function. :meth:`poll_once` is the whole behaviour; the thread repeats it."""

    def __init__(
        self,
        source: SqsSource,
        sqs: Any,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        failure_backoff_s: int = 1,
        wait_s: int = 1,
        name: str = "",
        faults: FaultInjector | None = None,
    ) -> None:
        """``faults``: duplicate, reorder and crash-before-delete the deliveries it draws (see
        :mod:`batonflow.emulator.faults`)."""
        self.source = source
        self._sqs = sqs
        self._invoke = invoke
        self._failure_backoff_s = failure_backoff_s
        self._wait_s = wait_s
        self._faults = faults
        super().__init__(name or f"sqs-{source.function}")

    def poll_once(self, *, wait_s: int | None = None) -> int:
        """Receive one batch, invoke the function, settle each message; return how many were received.

        ``wait_s`` overrides the long-poll wait (0 = return at once when the queue is empty).
        """
        messages = self._receive(self._wait_s if wait_s is None else wait_s)
        if not messages:
            return 0
        if self._faults is not None:
            messages = self._faults.arrange(messages, fifo=self.source.queue_url.endswith(".fifo"))
        event = {
            "Records": [
                sqs_record(message, queue_arn=self.source.queue_arn, region=self.source.region)
                for message in messages
            ]
        }
        try:
            result = self._invoke(event)
            if self._faults is not None and self._faults.chance("duplicate", lambda: _bodies(messages)):
                result = self._invoke(_redelivered(event))  # the same batch again, as SQS redelivers it
        except Exception:
            logger.exception(
                "%s failed on a batch of %d from %s", self.source.function, len(messages), self._name
            )
            failed = {message["MessageId"] for message in messages}
        else:
            failed = self._failed_ids(result, messages)
        if self._faults is not None and self._faults.chance("crash_before_delete", lambda: _bodies(messages)):
            self._retry_soon(messages)  # processed, never deleted: back after the (local) visibility
            return len(messages)
        self._delete([message for message in messages if message["MessageId"] not in failed])
        self._retry_soon([message for message in messages if message["MessageId"] in failed])
        return len(messages)

    @property
    def _name(self) -> str:
        return self.source.queue_url.rsplit("/", 1)[-1]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.exception("polling %s for %s failed", self._name, self.source.function)
                self._stop.wait(1.0)

    def _receive(self, wait: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.source.batch_size:
            count = min(_SQS_RECEIVE_LIMIT, self.source.batch_size - len(messages))
            received = self._sqs.receive_message(
                QueueUrl=self.source.queue_url,
                MaxNumberOfMessages=count,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(received)
            if len(received) < count:
                break
            wait = 0
        return messages

    def _failed_ids(self, result: Any, messages: Sequence[dict[str, Any]]) -> set[str]:
        """Message ids to retry. Anything Lambda would reject as a response fails the whole batch."""
        everything = {message["MessageId"] for message in messages}
        if not self.source.report_batch_item_failures or not isinstance(result, dict):
            return set()
        failures = result.get("batchItemFailures") or []
        if not isinstance(failures, list):
            return everything
        failed = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in everything:
                logger.error(
                    "%s returned an invalid batchItemFailures entry %r", self.source.function, failure
                )
                return everything
            failed.add(identifier)
        return failed

    def _delete(self, messages: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _SQS_RECEIVE_LIMIT):
            chunk = messages[start : start + _SQS_RECEIVE_LIMIT]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            response = self._sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                logger.error("deleting a message from %s failed: %s", self._name, failure)

    def _retry_soon(self, messages: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _SQS_RECEIVE_LIMIT):
            chunk = messages[start : start + _SQS_RECEIVE_LIMIT]
            entries = [
                {
                    "Id": str(i),
                    "ReceiptHandle": m["ReceiptHandle"],
                    "VisibilityTimeout": self._failure_backoff_s,
                }
                for i, m in enumerate(chunk)
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=self.source.queue_url, Entries=entries)


def _redelivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event of a batch received once more: each record's receive count one higher."""
    records = []
    for record in event["Records"]:
        attributes = dict(record["attributes"])
        attributes["ApproximateReceiveCount"] = str(int(attributes.get("ApproximateReceiveCount", "1")) + 1)
        records.append({**record, "attributes": attributes})
    return {"Records": records}


def _bodies(messages: Sequence[dict[str, Any]]) -> str:
    return " | ".join(str(message.get("Body")) for message in messages)


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """``{"StringValue": "x", "DataType": "String"}`` → Lambda's ``{"stringValue": "x", ...}``."""
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    converted["stringListValues"] = list(value.get("StringListValues") or [])
    converted["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues") or []
    ]
    converted["dataType"] = value["DataType"]
    return converted
