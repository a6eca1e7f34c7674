"""The whole engine on moto, in-process: the template provisioned, handlers wired to a fake clock.

Functional tests drive it like the emulator does (API requests through the socket-less gateway, SQS
batches and table stream records through the same pollers the emulator runs), but step by step: ``pump()``
delivers queued messages and stream records until nothing moves, so a test decides when time passes and in
what order things happen; ``expire()`` runs the emulator's TTL deletion as of the fake clock.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from batonflow.api.app import build_app
from batonflow.emulator import moto_speedups, moto_sqs_index
from batonflow.emulator.dynamodb_streams import StreamPoller, StreamSource
from batonflow.emulator.environment import shared_environment
from batonflow.emulator.event_sources import SqsPoller, SqsSource
from batonflow.emulator.gateway import HttpRequest, HttpResponse, LocalGateway, routes_from
from batonflow.emulator.lambda_runtime import LambdaContext
from batonflow.emulator.stack import LOCAL_PARAMETERS
from batonflow.emulator.ttl import TtlSweeper
from batonflow.engine.ids import new_workflow_id
from batonflow.infra import DynamoDbEvent, SqsEvent, load_template
from batonflow.infra.provision import ProvisionedStack, provision
from batonflow.model import StartWorkflowRequest
from batonflow.service.executor import create_undecided
from batonflow.service.runtime import Runtime
from batonflow.service.starting import new_execution
from tests.support.clock import FakeClock

REGION = "us-east-1"
_QUEUE_FUNCTIONS = {
    "DeciderFunction": "decider",
    "CompleteFunction": "complete",
    "TimerFunction": "timer",
    "SystemTaskFunction": "system_tasks",
}
_STREAM_FUNCTIONS = {"ReaperFunction": "reaper"}


def context(name: str) -> LambdaContext:
    return LambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
        memory_limit_in_mb="512",
        aws_request_id="test-request",
        deadline_s=time.time() + 60,
    )


@dataclass
class Harness:
    stack: ProvisionedStack
    runtime: Runtime
    clock: FakeClock
    gateway: LocalGateway
    pollers: dict[str, SqsPoller | StreamPoller]
    handlers: dict[str, ModuleType]
    ttl: TtlSweeper

    def api(
        self,
        method: str,
        target: str,
        json_body: Any = None,
        *,
        body: str | bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        request = HttpRequest.build(method, target, json_body=json_body, body=body, headers=headers or {})
        return self.gateway.handle(request)

    def start_by_the_decider(self, name: str, workflow_input: dict[str, Any]) -> str:
        """Start a workflow whose first decide the decider makes: its header written undecided and the
        decider woken, as a start does whose first plan is too wide for one request. Starts decide
        themselves; this is for tests of the decider's own batching, failures and redeliveries."""
        request = StartWorkflowRequest.model_validate({"name": name, "input": workflow_input})
        workflow = new_execution(self.runtime, request, new_workflow_id())
        create_undecided(self.runtime, workflow)
        return workflow.workflow_id or ""

    def pump(self, *functions: str, max_rounds: int = 200) -> int:
        """Deliver messages to the queue functions until no queue has any; returns batches delivered."""
        names = functions or tuple(self.pollers)
        for rounds in range(max_rounds):
            if not sum(self.pollers[name].poll_once() for name in names):
                return rounds
        raise AssertionError("queues never went quiet")

    def sleep(self, seconds: float) -> None:
        """What a request that waits (sync execute, ``/sync`` updates) does here: the engine runs and the
        fake clock moves."""
        self.pump()
        self.clock.advance(seconds)

    def expire(self) -> int:
        """Delete the items whose TTL passed by the fake clock (what AWS does in the background); returns
        how many. The deletions reach the table's stream; ``pump()`` delivers them."""
        return self.ttl.sweep(self.clock() / 1000)

    def queue_url(self, logical_id: str) -> str:
        return str(self.stack.resources[logical_id].ref)

    def receive_all(self, queue_url: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.runtime.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)

    def take_tasks(self, task_type: str) -> list[dict[str, Any]]:
        """Every task message of ``task_type``'s queue, taken off it as an SQS-native worker does (no
        lease), as parsed JSON."""
        url = self.runtime.queues.task_queue_url(task_type)
        messages = self.receive_all(url)
        for message in messages:
            self.runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]


def _handler_module(name: str, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = importlib.import_module(f"batonflow.handlers.{name}")
    if hasattr(module, "runtime"):
        monkeypatch.setattr(module, "runtime", runtime)
    if hasattr(module, "app"):
        monkeypatch.setattr(module, "app", build_app(runtime))
    return module


@contextmanager
def moto_harness(
    monkeypatch: pytest.MonkeyPatch, *, parameters: Mapping[str, str] | None = None
) -> Iterator[Harness]:
    """``parameters`` overrides template parameters, as ``sam deploy --parameter-overrides`` would."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    moto_speedups.install()
    moto_sqs_index.install()
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        stack = provision(
            load_template(),
            parameters={**LOCAL_PARAMETERS, **(parameters or {})},
            session_or_clients=session,
            region=REGION,
        )
        for key, value in shared_environment(stack.functions).items():
            monkeypatch.setenv(key, value)
        clock = FakeClock()
        runtime = Runtime.from_env(clock=clock)
        handlers = {
            name: _handler_module(name, runtime, monkeypatch)
            for name in ("api", *_QUEUE_FUNCTIONS.values(), *_STREAM_FUNCTIONS.values())
        }
        api = handlers["api"]
        gateway = LocalGateway(
            routes_from(stack.functions), {"ApiFunction": lambda event: api.handler(event, context("api"))}
        )
        pollers = {}
        for logical_id, module_name in _QUEUE_FUNCTIONS.items():
            events = stack.function(logical_id).events_of(SqsEvent)
            module = handlers[module_name]
            for event in events:
                queue = stack.resources[event.queue_logical_id]
                source = SqsSource(
                    function=logical_id,
                    queue_url=str(queue.ref),
                    queue_arn=str(queue.attributes["Arn"]),
                    region=REGION,
                    batch_size=event.batch_size,
                    report_batch_item_failures=event.report_batch_item_failures,
                )
                # a function with several queues gets one poller per queue: "<module>:<event name>"
                key = module_name if len(events) == 1 else f"{module_name}:{event.name}"
                pollers[key] = SqsPoller(
                    source,
                    runtime.sqs,
                    lambda e, m=module, n=module_name: m.handler(e, context(n)),
                    wait_s=0,
                    failure_backoff_s=0,
                )
        # botocore >= 1.44 sends stream calls to account-based endpoints, which moto's in-process mock
        # does not recognise; the regional endpoint is the same service
        streams = session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        for logical_id, module_name in _STREAM_FUNCTIONS.items():
            (event,) = stack.function(logical_id).events_of(DynamoDbEvent)
            module = handlers[module_name]
            stream = StreamSource(
                function=logical_id,
                stream_arn=str(stack.resources[event.table_logical_id].attributes["StreamArn"]),
                region=REGION,
                starting_position=event.starting_position,
                batch_size=event.batch_size,
                report_batch_item_failures=event.report_batch_item_failures,
                filters=event.filters,
            )
            pollers[module_name] = StreamPoller(
                stream,
                streams,
                lambda e, m=module, n=module_name: m.handler(e, context(n)),
                failure_backoff_s=0,
            )
        table = stack.template.resources["BatonTable"]["Properties"]
        ttl_attribute = table["TimeToLiveSpecification"]["AttributeName"]
        ttl = TtlSweeper(session.client("dynamodb"), runtime.settings.table, ttl_attribute)
        harness = Harness(stack, runtime, clock, gateway, pollers, handlers, ttl)
        runtime.sleep = harness.sleep
        yield harness
