"""BatonStack end to end with stub handlers: HTTP, SQS pollers, schedules, environment, endpoints.

The stubs stand in for ``batonflow.handlers.*``; waits are on events the stubs set, never on sleeps.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batonflow.emulator import (
    BatonStack,
    EnvironmentConflictError,
    HandlerImportError,
    Invocation,
    MotoServer,
    direct_invoke,
)
from batonflow.infra import SqsEvent, Template, load_template

FUNCTIONS = (
    "ApiFunction",
    "DeciderFunction",
    "CompleteFunction",
    "TimerFunction",
    "SweeperFunction",
    "SystemTaskFunction",
    "ReaperFunction",
)
WAIT_S = 10


class Stubs:
    """One recording stub per function of the template, plus the invoke hook that sees every call."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[Any, Any]]] = {name: [] for name in FUNCTIONS}
        self.called = {name: threading.Event() for name in FUNCTIONS}
        self.sources: list[tuple[str, str]] = []

    def handlers(self) -> dict[str, Any]:
        return {name: self._stub(name) for name in FUNCTIONS}

    def hook(self, invocation: Invocation) -> Any:
        self.sources.append((invocation.function.logical_id, invocation.source))
        return direct_invoke(invocation)

    def _stub(self, name: str) -> Any:
        def handler(event: Any, context: Any) -> Any:
            self.calls[name].append((event, context))
            self.called[name].set()
            if name == "ApiFunction":
                return {
                    "statusCode": 200,
                    "headers": {"Content-Type": "text/plain"},
                    "body": f"{event['routeKey']} {event['rawPath']}",
                }
            return {"batchItemFailures": []}

        return handler


@pytest.fixture(scope="module")
def stubs() -> Stubs:
    return Stubs()


@pytest.fixture(scope="module")
def stack(stubs: Stubs) -> Iterator[BatonStack]:
    with BatonStack(
        stack_name="stack-test", handlers=stubs.handlers(), invoke=stubs.hook, schedule_interval_s=0.05
    ) as running:
        yield running


@pytest.fixture(scope="module")
def external() -> Iterator[str]:
    """A second moto server standing in for LocalStack or any endpoint the user runs."""
    with MotoServer() as server:
        yield server.endpoint_url


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=WAIT_S) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def quiet_stack(endpoint: str, **kwargs: Any) -> BatonStack:
    """A stack with no threads: enough to check provisioning, environment and handler imports."""
    options: dict[str, Any] = {
        "endpoint_url": endpoint,
        "serve_http": False,
        "start_pollers": False,
        "start_schedules": False,
        "handlers": Stubs().handlers(),
    }
    return BatonStack(**{**options, **kwargs})


def test_http_requests_reach_the_api_function(stack: BatonStack, stubs: Stubs) -> None:
    assert get(f"{stack.api_url}/api//metadata/workflow?name=x") == (
        200,
        "ANY /api/{proxy+} /api/metadata/workflow",
    )
    assert get(f"{stack.api_url}/health") == (200, "GET /health /health")
    assert get(f"{stack.api_url}/elsewhere") == (404, json.dumps({"message": "Not Found"}))

    event, context = stubs.calls["ApiFunction"][0]
    assert event["queryStringParameters"] == {"name": "x"}
    assert event["requestContext"]["apiId"] == stack.resources["HttpApi"].ref
    assert context.function_name == "stack-test-ApiFunction"
    assert context.invoked_function_arn == stack.resources["ApiFunction"].attributes["Arn"]
    assert context.memory_limit_in_mb == "512"
    assert 0 < context.get_remaining_time_in_millis() <= 60_000


def test_sqs_messages_reach_their_functions(stack: BatonStack, stubs: Stubs) -> None:
    sqs = stack.client("sqs")
    sqs.send_message(
        QueueUrl=stack.resources["DeciderQueue"].ref,
        MessageBody="wake",
        MessageGroupId="wf",
        MessageDeduplicationId="1",
    )
    sqs.send_message(QueueUrl=stack.resources["ResultsQueue"].ref, MessageBody="result")

    assert stubs.called["DeciderFunction"].wait(WAIT_S)
    assert stubs.called["CompleteFunction"].wait(WAIT_S)
    decider_event, _ = stubs.calls["DeciderFunction"][0]
    assert decider_event["Records"][0]["body"] == "wake"
    assert decider_event["Records"][0]["eventSourceARN"] == stack.resources["DeciderQueue"].attributes["Arn"]


def test_system_task_queues_reach_the_system_task_function(stack: BatonStack, stubs: Stubs) -> None:
    sqs = stack.client("sqs")
    queues = ("HttpTaskQueue", "EventTaskQueue")
    for queue in queues:
        sqs.send_message(QueueUrl=stack.resources[queue].ref, MessageBody=queue)
    expected = {(stack.resources[queue].attributes["Arn"], queue) for queue in queues}
    called = stubs.called["SystemTaskFunction"]

    def delivered() -> set[tuple[str, str]]:
        calls = list(stubs.calls["SystemTaskFunction"])
        return {(r["eventSourceARN"], r["body"]) for event, _ in calls for r in event["Records"]}

    # the two queues have their own pollers: wait for calls until both bodies arrived (a call cleared before
    # it was seen is still caught by the next check)
    while delivered() != expected and called.wait(WAIT_S):
        called.clear()
    assert delivered() == expected


def test_schedules_fire(stack: BatonStack, stubs: Stubs) -> None:
    assert stubs.called["SweeperFunction"].wait(WAIT_S)

    event, _ = stubs.calls["SweeperFunction"][0]
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert event["resources"][0].endswith(":rule/stack-test-SweeperFunction-Sweep")


def test_every_call_goes_through_the_invoke_hook(stack: BatonStack, stubs: Stubs) -> None:
    stack.invoke("TimerFunction", {"Records": []})
    get(f"{stack.api_url}/health")
    stubs.called["SweeperFunction"].wait(WAIT_S)

    assert {("TimerFunction", "direct"), ("ApiFunction", "http"), ("SweeperFunction", "schedule")} <= set(
        stubs.sources
    )


def test_functions_see_the_template_environment(stack: BatonStack) -> None:
    assert os.environ["BATON_TABLE"] == stack.resources["BatonTable"].ref
    assert os.environ["BATON_DECIDER_QUEUE_URL"] == stack.resources["DeciderQueue"].ref
    assert os.environ["AWS_ENDPOINT_URL"] == stack.endpoint_url
    assert stack.environment == stack.provisioned.function("ApiFunction").environment  # type: ignore[union-attr]


def test_worker_environment(stack: BatonStack) -> None:
    assert stack.worker_environment() == {
        "AWS_ENDPOINT_URL": stack.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BATON_QUEUE_PREFIX": "stack-test-",
        "BATON_RESULTS_QUEUE_URL": stack.resources["ResultsQueue"].ref,
        "BATON_BUCKET": stack.resources["PayloadBucket"].ref,
        "BATON_PAYLOAD_THRESHOLD": "65536",
        "CONDUCTOR_SERVER_URL": f"{stack.api_url}/api",
    }


def test_pollers_follow_the_template(stack: BatonStack) -> None:
    assert {
        (p.source.function, p.source.batch_size, p.source.report_batch_item_failures) for p in stack.pollers
    } == {
        (spec.logical_id, event.batch_size, event.report_batch_item_failures)
        for spec in stack.provisioned.functions  # type: ignore[union-attr]
        for event in spec.events_of(SqsEvent)
    }


def test_an_external_endpoint_is_used_and_the_environment_restored(
    external: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://before")
    monkeypatch.setenv("AWS_PROFILE", "someone")

    with quiet_stack(external, stack_name="ext-test") as stack:
        during = (os.environ["AWS_ENDPOINT_URL"], os.environ.get("AWS_PROFILE"))
        queue_urls = stack.client("sqs").list_queues(QueueNamePrefix="ext-test-")["QueueUrls"]

    assert stack.endpoint_url == external
    assert during == (external, None)
    assert stack.resources["ResultsQueue"].ref in queue_urls
    assert all(url.startswith(external) for url in queue_urls)
    assert (os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_PROFILE"]) == ("http://before", "someone")


HANDLER_MODULE = """
import os

SEEN_AT_IMPORT = {name: os.environ.get(name) for name in ("BATON_TABLE", "AWS_ENDPOINT_URL")}


def handler(event, context):
    return SEEN_AT_IMPORT
"""


def test_handlers_are_imported_after_the_environment_is_set(
    external: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "baton_stub_handler.py").write_text(HANDLER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "baton_stub_handler", raising=False)
    handlers = {**Stubs().handlers(), "ApiFunction": "baton_stub_handler.handler"}

    seen = []
    modules = []
    for name in ("imp-a", "imp-a", "imp-b"):
        with quiet_stack(external, stack_name=name, handlers=handlers) as stack:
            seen.append(stack.invoke("ApiFunction", {}))
            modules.append(sys.modules["baton_stub_handler"])

    assert seen[0] == {"BATON_TABLE": "imp-a-BatonTable", "AWS_ENDPOINT_URL": external}
    assert modules[0] is modules[1]
    assert modules[2] is not modules[1]
    assert seen[2]["BATON_TABLE"] == "imp-b-BatonTable"


def test_a_handler_that_cannot_be_imported_fails_the_start_cleanly(external: str) -> None:
    before = dict(os.environ)
    stack = quiet_stack(
        external, stack_name="imp-bad", handlers={"ApiFunction": "no_such_module_here.handler"}
    )

    with pytest.raises(HandlerImportError, match="no_such_module_here"):
        stack.start()

    assert dict(os.environ) == before


def test_functions_that_disagree_on_a_variable_are_refused(external: str) -> None:
    document = copy.deepcopy(dict(load_template().document))
    decider = document["Resources"]["DeciderFunction"]["Properties"]
    decider["Environment"] = {"Variables": {"BATON_TABLE": "some-other-table"}}
    before = dict(os.environ)

    with pytest.raises(EnvironmentConflictError, match="BATON_TABLE"):
        quiet_stack(external, stack_name="conflict", template=Template(document=document)).start()

    assert dict(os.environ) == before


def test_pump_runs_the_event_sources_without_threads(external: str) -> None:
    stubs = Stubs()
    with quiet_stack(external, stack_name="pump-test", handlers=stubs.handlers()) as stack:
        sqs = stack.client("sqs")
        for body in ("r1", "r2"):
            sqs.send_message(QueueUrl=stack.resources["ResultsQueue"].ref, MessageBody=body)
        sqs.send_message(QueueUrl=stack.resources["TimerQueue"].ref, MessageBody="t1")

        delivered = stack.pump()

    bodies = {
        name: sorted(record["body"] for event, _ in calls for record in event["Records"])
        for name, calls in stubs.calls.items()
        if calls
    }
    assert delivered == 3
    assert bodies == {"CompleteFunction": ["r1", "r2"], "TimerFunction": ["t1"]}


def test_ttl_deletions_reach_the_stream_function_through_its_filter(external: str) -> None:
    stubs = Stubs()
    with quiet_stack(external, stack_name="ttl-test", handlers=stubs.handlers()) as stack:
        dynamodb, table = stack.client("dynamodb"), stack.resources["BatonTable"].ref
        items = {
            ("WF#old", "#HEADER"): 1000,  # expired header: deleted, reaches the reaper
            ("WF#old", "T#t1"): 1000,  # expired, but not a header: deleted, filtered out
            ("WF#new", "#HEADER"): 3000,  # not yet
            ("WF#kept", "#HEADER"): None,  # no TTL at all
        }
        for (pk, sk), expires in items.items():
            item = {"PK": {"S": pk}, "SK": {"S": sk}}
            if expires is not None:
                item["expiresAt"] = {"N": str(expires)}
            dynamodb.put_item(TableName=table, Item=item)

        assert stack.expire(now_s=2000) == 2
        stack.pump()
        assert stack.expire(now_s=2000) == 0

        left = dynamodb.scan(TableName=table, ProjectionExpression="PK")["Items"]
        stream_arn = stack.resources["BatonTable"].attributes["StreamArn"]

    assert sorted(item["PK"]["S"] for item in left) == ["WF#kept", "WF#new"]
    [(event, context)] = stubs.calls["ReaperFunction"]
    [record] = event["Records"]
    assert record["eventName"] == "REMOVE" and record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stream_arn
    assert record["dynamodb"]["Keys"] == {"PK": {"S": "WF#old"}, "SK": {"S": "#HEADER"}}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert context.function_name == "ttl-test-ReaperFunction"


def test_a_failed_stream_batch_is_delivered_again(external: str) -> None:
    stubs = Stubs()
    handlers = stubs.handlers()
    reaper = handlers["ReaperFunction"]
    failures = iter([RuntimeError("first try fails")])

    def flaky(event: Any, context: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return reaper(event, context)

    handlers["ReaperFunction"] = flaky
    with quiet_stack(external, stack_name="stream-retry", handlers=handlers, failure_backoff_s=0) as stack:
        dynamodb, table = stack.client("dynamodb"), stack.resources["BatonTable"].ref
        key = {"PK": {"S": "WF#x"}, "SK": {"S": "#HEADER"}}
        dynamodb.put_item(TableName=table, Item=key)
        dynamodb.delete_item(TableName=table, Key=key)

        stack.pump()

    [(event, _)] = stubs.calls["ReaperFunction"]
    assert [record["dynamodb"]["Keys"] for record in event["Records"]] == [key]


def test_public_surface() -> None:
    import batonflow.emulator
    import batonflow.infra

    assert sorted(batonflow.emulator.__all__) == [
        "BatonStack",
        "EmulatorError",
        "EnvironmentConflictError",
        "GatewayServer",
        "HandlerImportError",
        "HttpRequest",
        "HttpResponse",
        "Invocation",
        "Invoker",
        "LambdaContext",
        "LocalFunction",
        "LocalGateway",
        "MotoServer",
        "Route",
        "ScheduleRunner",
        "SqsPoller",
        "SqsSource",
        "StreamPoller",
        "StreamSource",
        "TtlSweeper",
        "WORKER_VARIABLES",
        "direct_invoke",
        "import_handler",
        "routes_from",
        "scheduled_event",
        "shared_environment",
        "sqs_record",
    ]
    assert sorted(batonflow.infra.__all__) == [
        "AwsClients",
        "DEFAULT_REGION",
        "DEFAULT_STACK_NAME",
        "DynamoDbEvent",
        "FunctionSpec",
        "HttpApiEvent",
        "InfraError",
        "LOCAL_CREDENTIALS",
        "Physical",
        "ProvisionError",
        "ProvisionedStack",
        "Resolver",
        "ScheduleEvent",
        "SqsEvent",
        "StackContext",
        "Template",
        "TemplateError",
        "UnresolvableError",
        "find_template",
        "load_template",
        "local_session",
        "provision",
    ]
    assert all(hasattr(batonflow.emulator, name) for name in batonflow.emulator.__all__)
    assert all(hasattr(batonflow.infra, name) for name in batonflow.infra.__all__)
