"""SQS event source mappings and schedules against a moto server, driven one poll at a time.

``poll_once`` is the whole poller behaviour, so these tests need no threads and no waiting: a failed
message is made visible again at once (``failure_backoff_s=0``) and the next poll gets it.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from batonflow.emulator import MotoServer, ScheduleRunner, SqsPoller, SqsSource
from batonflow.infra import AwsClients, ProvisionedStack, SqsEvent, Template, load_template, provision

REGION = "us-east-1"
Handler = Callable[[dict[str, Any]], Any]
_names = itertools.count()


@pytest.fixture(scope="module")
def clients() -> Iterator[AwsClients]:
    with MotoServer() as server:
        yield AwsClients.for_endpoint(server.endpoint_url, region=REGION)


def fresh_stack(clients: AwsClients, template: Template | None = None) -> ProvisionedStack:
    """A freshly named stack, so every test starts with empty queues."""
    return provision(template or load_template(), session_or_clients=clients, stack_name=f"es-{next(_names)}")


class Stub:
    """A handler stub: records batches; ``fail`` picks the bodies to report as failed."""

    def __init__(self, fail: Any = lambda body: False, raise_error: bool = False, result: Any = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self._fail = fail
        self._raise = raise_error
        self._result = result

    def __call__(self, event: dict[str, Any]) -> Any:
        self.batches.append(event["Records"])
        if self._raise:
            raise RuntimeError("handler crashed")
        if self._result is not None:
            return self._result
        failed = [r["messageId"] for r in event["Records"] if self._fail(r["body"])]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def poller_for(stack: ProvisionedStack, function: str, handler: Handler, clients: AwsClients) -> SqsPoller:
    """The poller the stack would build for ``function``'s SQS event, as the template describes it."""
    (event,) = stack.function(function).events_of(SqsEvent)
    queue = stack.resources[event.queue_logical_id]
    source = SqsSource(
        function=function,
        queue_url=queue.ref,
        queue_arn=queue.attributes["Arn"],
        region=REGION,
        batch_size=event.batch_size,
        report_batch_item_failures=event.report_batch_item_failures,
    )
    return SqsPoller(source, clients.sqs, handler, failure_backoff_s=0, wait_s=0)


def send(clients: AwsClients, url: str, *bodies: str, **extra: Any) -> None:
    for body in bodies:
        clients.sqs.send_message(QueueUrl=url, MessageBody=body, **extra)


def depth(clients: AwsClients, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_only_reported_failures_come_back(clients: AwsClients) -> None:
    stack = fresh_stack(clients)
    url = stack.resources["ResultsQueue"].ref
    send(clients, url, "ok-1", "bad", "ok-2")
    handler = Stub(fail=lambda body: body == "bad")
    poller = poller_for(stack, "CompleteFunction", handler, clients)

    first = poller.poll_once()
    second = poller.poll_once()

    assert (first, second) == (3, 1)
    assert sorted(r["body"] for r in handler.batches[0]) == ["bad", "ok-1", "ok-2"]
    (redelivered,) = handler.batches[1]
    assert redelivered["body"] == "bad"
    assert redelivered["attributes"]["ApproximateReceiveCount"] == "2"
    assert depth(clients, url) == 1


def test_a_raising_handler_deletes_nothing(clients: AwsClients) -> None:
    stack = fresh_stack(clients)
    url = stack.resources["TimerQueue"].ref
    send(clients, url, "a", "b")
    poller = poller_for(stack, "TimerFunction", Stub(raise_error=True), clients)

    poller.poll_once()

    assert depth(clients, url) == 2


@pytest.mark.parametrize(
    "result",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
    ],
)
def test_an_invalid_failure_list_fails_the_whole_batch(clients: AwsClients, result: dict[str, Any]) -> None:
    stack = fresh_stack(clients)
    url = stack.resources["ResultsQueue"].ref
    send(clients, url, "a", "b")
    poller = poller_for(stack, "CompleteFunction", Stub(result=result), clients)

    poller.poll_once()

    assert depth(clients, url) == 2


def test_records_have_lambdas_shape(clients: AwsClients) -> None:
    stack = fresh_stack(clients)
    decider = stack.resources["DeciderQueue"]
    send(
        clients,
        decider.ref,
        "wake",
        MessageGroupId="wf-1",
        MessageDeduplicationId="d-1",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "decide"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        },
    )
    handler = Stub()

    poller_for(stack, "DeciderFunction", handler, clients).poll_once()

    (record,) = handler.batches[0]
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["body"] == "wake"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == decider.attributes["Arn"]
    assert record["awsRegion"] == REGION
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "MessageGroupId",
        "MessageDeduplicationId",
        "SequenceNumber",
    }
    assert (record["attributes"]["MessageGroupId"], record["attributes"]["MessageDeduplicationId"]) == (
        "wf-1",
        "d-1",
    )
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "decide",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {"binaryValue": "AQI=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }


def test_the_batch_size_comes_from_the_template(clients: AwsClients) -> None:
    document = copy.deepcopy(dict(load_template().document))
    document["Resources"]["CompleteFunction"]["Properties"]["Events"]["ResultsQueue"]["Properties"][
        "BatchSize"
    ] = 3
    stack = fresh_stack(clients, Template(document=document))
    send(clients, stack.resources["ResultsQueue"].ref, *[f"m{i}" for i in range(5)])
    handler = Stub()
    poller = poller_for(stack, "CompleteFunction", handler, clients)

    sizes = [poller.poll_once(), poller.poll_once(), poller.poll_once()]

    assert poller.source.batch_size == 3
    assert sizes == [3, 2, 0]


def test_a_message_that_keeps_failing_lands_in_the_dlq(clients: AwsClients) -> None:
    stack = fresh_stack(clients)
    url = stack.resources["ResultsQueue"].ref
    max_receives = load_template().resources["ResultsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    send(clients, url, "poison")
    poller = poller_for(stack, "CompleteFunction", Stub(fail=lambda body: True), clients)

    deliveries = sum(poller.poll_once() for _ in range(max_receives + 1))

    assert deliveries == max_receives
    assert depth(clients, stack.resources["ResultsDLQ"].ref) == 1


def test_a_schedule_sends_a_scheduled_event() -> None:
    events: list[dict[str, Any]] = []
    runner = ScheduleRunner(
        events.append,
        interval_s=60,
        rule_arn="arn:aws:events:us-east-1:111122223333:rule/demo-Sweep",
        region=REGION,
        account_id="111122223333",
        clock=lambda: 1_700_000_000.0,
        new_id=lambda: "event-1",
    )

    runner.fire()

    assert events == [
        {
            "version": "0",
            "id": "event-1",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "111122223333",
            "time": "2023-11-14T22:13:20Z",
            "region": REGION,
            "resources": ["arn:aws:events:us-east-1:111122223333:rule/demo-Sweep"],
            "detail": {},
        }
    ]


def test_a_schedule_with_input_sends_the_input() -> None:
    events: list[Any] = []
    runner = ScheduleRunner(
        events.append, interval_s=60, rule_arn="arn:r", region=REGION, account_id="1", input={"k": 1}
    )

    runner.fire()

    assert events == [{"k": 1}]


def test_powertools_partial_batch_responses_are_honoured(clients: AwsClients) -> None:
    stack = fresh_stack(clients)
    url = stack.resources["ResultsQueue"].ref
    send(clients, url, "ok", "bad")
    processor = BatchProcessor(event_type=EventType.SQS)
    seen: list[str] = []

    def record_handler(record: SQSRecord) -> None:
        seen.append(record.body)
        if record.body == "bad":
            raise ValueError("bad record")

    def handler(event: dict[str, Any]) -> Any:
        return process_partial_response(event, record_handler, processor, context=None)

    poller = poller_for(stack, "CompleteFunction", handler, clients)
    poller.poll_once()
    poller.poll_once()

    assert sorted(seen) == ["bad", "bad", "ok"]
    assert depth(clients, url) == 1


def test_moto_state_is_per_process_and_reset_forgets_it(clients: AwsClients) -> None:
    stack = fresh_stack(clients)
    queue_name = stack.resources["ResultsQueue"].attributes["QueueName"]

    with MotoServer() as other:
        other.reset()

    with pytest.raises(clients.sqs.exceptions.QueueDoesNotExist):
        clients.sqs.get_queue_url(QueueName=queue_name)
