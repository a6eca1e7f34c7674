"""The fault injectors against a moto server: at the event source (one poll at a time) and at boto3
(clients built after the injector is installed, calls made inside an invocation)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from batonflow.emulator.faults import FaultInjector, FaultProfile, InvocationCrashed
from batonflow.infra import AwsClients, local_session
from tests.functional.test_emulator_event_sources import Stub, clients, depth, fresh_stack, poller_for, send

__all__ = ["clients"]  # the module-scoped moto server fixture


def poller_with(clients: AwsClients, handler: Stub, faults: FaultInjector):
    stack = fresh_stack(clients)
    poller = poller_for(stack, "TimerFunction", handler, clients)
    poller._faults = faults
    return stack, poller


def test_a_duplicated_delivery_invokes_twice_with_the_same_batch_then_deletes(clients: AwsClients):
    handler = Stub()
    stack, poller = poller_with(clients, handler, FaultInjector(FaultProfile({"duplicate": 1.0})))
    url = stack.resources["TimerQueue"].ref
    send(clients, url, "a", "b")

    poller.poll_once(wait_s=0)

    first, again = handler.batches
    assert [r["body"] for r in first] == [r["body"] for r in again] == ["a", "b"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in again] == ["2", "2"]
    assert depth(clients, url) == 0


def test_a_crash_before_the_delete_brings_the_processed_batch_back(clients: AwsClients):
    handler = Stub()
    faults = FaultInjector(FaultProfile({"crash_before_delete": 1.0}))
    stack, poller = poller_with(clients, handler, faults)
    url = stack.resources["TimerQueue"].ref
    send(clients, url, "a")

    poller.poll_once(wait_s=0)
    poller.poll_once(wait_s=0)

    assert [[r["body"] for r in batch] for batch in handler.batches] == [["a"], ["a"]]
    assert depth(clients, url) == 1
    assert faults.snapshot() == {"crash_before_delete": 2}


@dataclass
class Call:
    """What the invoke hook is given, reduced to what the injector reads."""

    source: str
    body: Callable[[], Any]
    function: Any = field(default_factory=lambda: SimpleNamespace(logical_id="DeciderFunction"))

    def __call__(self) -> Any:
        return self.body()


@dataclass
class Hooked:
    injector: FaultInjector
    dynamodb: Any
    sqs: Any
    table: str
    timers: str


@pytest.fixture
def hooked(clients: AwsClients) -> Iterator[Callable[[dict[str, float]], Hooked]]:
    """An installed injector for a profile, with a DynamoDB and an SQS client built after it."""
    injectors: list[FaultInjector] = []

    def make(rates: dict[str, float]) -> Hooked:
        stack = fresh_stack(clients)
        injector = FaultInjector(FaultProfile(rates)).install()
        injectors.append(injector)
        timers, results = stack.resources["TimerQueue"].ref, stack.resources["ResultsQueue"].ref
        injector.bind(sqs=clients.sqs, timer_queue_url=timers, results_queue_url=results)
        endpoint, session = clients.sqs.meta.endpoint_url, local_session("us-east-1")
        config = Config(retries={"mode": "standard", "max_attempts": 2})
        return Hooked(
            injector,
            session.client("dynamodb", endpoint_url=endpoint, config=config),
            session.client("sqs", endpoint_url=endpoint),
            stack.resources["BatonTable"].ref,
            timers,
        )

    yield make
    for injector in injectors:
        injector.uninstall()


def invoke(injector: FaultInjector, body: Callable[[], Any], source: str = "sqs") -> Any:
    return injector.invoker(lambda call: call())(Call(source, body))


def put(hooked: Hooked, key: str) -> None:
    hooked.dynamodb.put_item(TableName=hooked.table, Item={"PK": {"S": key}, "SK": {"S": "x"}})


def test_throttling_exhausts_the_retries_inside_an_invocation_only(hooked):
    faults = hooked({"throttle": 1.0})

    with pytest.raises(ClientError, match=r"ProvisionedThroughputExceeded.*reached max retries"):
        invoke(faults.injector, lambda: put(faults, "a"))
    throttled = faults.injector.snapshot()
    put(faults, "b")  # outside an invocation: untouched
    invoke(faults.injector, lambda: put(faults, "c"), source="http")  # the API answers a client: untouched

    assert throttled["throttle"] >= 2  # every attempt botocore made
    assert faults.injector.snapshot() == throttled


def test_a_crash_after_a_write_kills_the_invocation_at_its_next_send(hooked):
    faults = hooked({"crash_after_write": 1.0})
    sent: list[str] = []

    def write_then_send() -> None:
        put(faults, "a")
        faults.sqs.send_message(QueueUrl=faults.timers, MessageBody="after the write")
        sent.append("sent")

    invoke(faults.injector, lambda: faults.sqs.send_message(QueueUrl=faults.timers, MessageBody="no write"))
    with pytest.raises(InvocationCrashed, match="crash after a DynamoDB write"):
        invoke(faults.injector, write_then_send)

    assert sent == []
    assert queue_depth(faults) == 1
    assert faults.injector.snapshot() == {"crash_after_write": 1}


def test_a_lost_timer_is_answered_as_sent_and_never_arrives(hooked):
    faults = hooked({"lost_timer": 1.0})

    single = invoke(faults.injector, lambda: faults.sqs.send_message(QueueUrl=faults.timers, MessageBody="t"))
    entries = [{"Id": "0", "MessageBody": "u"}, {"Id": "1", "MessageBody": "v"}]
    batch = invoke(
        faults.injector, lambda: faults.sqs.send_message_batch(QueueUrl=faults.timers, Entries=entries)
    )

    assert single["MessageId"] and [entry["Id"] for entry in batch["Successful"]] == ["0", "1"]
    assert queue_depth(faults) == 0
    assert faults.injector.snapshot() == {"lost_timer": 2}


def queue_depth(hooked: Hooked) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = hooked.sqs.get_queue_attributes(QueueUrl=hooked.timers, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)
