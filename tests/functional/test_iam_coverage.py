"""Every AWS call a handler makes in representative flows is allowed by its function's statements.

The handlers run on the moto harness; a botocore hook (installed before the harness builds its clients)
records each call with the function whose handler was running, the IAM action it needs and the ARN it
acts on. The statements of the function's role (test_template_iam.py pins them) are resolved against the
provisioned stack, and each call must match one: the action, and the ARN by IAM's wildcard rules. A grant
missing from template.yaml fails here before it fails on AWS with AccessDenied. Only DynamoDB and SQS
and S3 statements are resolved (the handlers call nothing else; logs and X-Ray are Lambda's, and the local
stack has no log group to resolve). The event source pollers' own calls (receive, delete) are Lambda's,
authorised by the role's event-source statements that test_template_iam.py checks, and are not counted.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from batonflow.emulator.botocore_hooks import SessionHooks
from batonflow.infra.template import SERVERLESS_FUNCTION
from batonflow.model.wire import ResultMessage
from batonflow.store.payloads import Payloads
from tests.support.iam import function_statements, grants, iam_action, listed
from tests.support.stack import Harness, context, moto_harness
from tests.support.timers import TimerTap

REGION = "us-east-1"
ACCOUNT = "123456789012"
RECORDED_SERVICES = ("dynamodb", "sqs", "s3")


@dataclass(frozen=True)
class Call:
    function: str
    action: str
    resource: str


class Recorder(SessionHooks):
    """Records (function, IAM action, ARN) for every call made while a function's handler runs."""

    def __init__(self) -> None:
        super().__init__([("before-parameter-build", self._before)])
        self.calls: set[Call] = set()
        self._local = threading.local()

    @contextmanager
    def acting(self, function: str | None) -> Iterator[None]:
        """Attribute this thread's calls to ``function`` (None: not a function's call)."""
        previous = getattr(self._local, "function", None)
        self._local.function = function
        try:
            yield
        finally:
            self._local.function = previous

    def functions(self) -> set[str]:
        return {call.function for call in self.calls}

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        function = getattr(self._local, "function", None)
        if function is None:
            return
        service = model.service_model.endpoint_prefix
        action = iam_action(service, model.name)
        for resource in _resources(service, params):
            self.calls.add(Call(function, action, resource))


def _resources(service: str, params: dict[str, Any]) -> list[str]:
    if service == "dynamodb":
        tables = [params["TableName"]] if "TableName" in params else list(params.get("RequestItems", {}))
        index = f"/index/{params['IndexName']}" if "IndexName" in params else ""
        return [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}{index}" for table in tables]
    if service == "sqs":
        name = params.get("QueueName") or str(params["QueueUrl"]).rsplit("/", 1)[-1]
        return [f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"]
    if service == "s3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        if "Key" in params:
            return [f"{bucket}/{params['Key']}"]
        if "Delete" in params:
            return [f"{bucket}/{entry['Key']}" for entry in params["Delete"]["Objects"]]
        return [bucket]
    return ["*"]  # no statement names another service's resources: such a call fails the check


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Harness, Recorder]]:
    recorder = Recorder().install()
    try:
        with moto_harness(monkeypatch) as harness:
            sweeper = importlib.import_module("batonflow.handlers.sweeper")
            monkeypatch.setattr(sweeper, "runtime", harness.runtime)
            modules = {**harness.handlers, "sweeper": sweeper}
            for function in harness.stack.template.resources_of_type(SERVERLESS_FUNCTION):
                handler = harness.stack.template.function_properties(function)["Handler"]
                module = modules[handler.split(".")[-2]]
                monkeypatch.setattr(module, "handler", _acting(recorder, function, module.handler))
            for poller in harness.pollers.values():
                monkeypatch.setattr(poller, "poll_once", _acting(recorder, None, poller.poll_once))
            yield harness, recorder
    finally:
        recorder.uninstall()


def _acting(recorder: Recorder, function: str | None, call: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with recorder.acting(function):
            return call(*args, **kwargs)

    return wrapped


def uncovered(harness: Harness, recorder: Recorder) -> list[Call]:
    """The recorded calls no statement of their function allows."""
    resolver = harness.stack.resolver()
    granted = {
        function: grants(
            [
                statement
                for statement in function_statements(harness.stack.template, function)
                if all(action.split(":")[0] in RECORDED_SERVICES for action in listed(statement["Action"]))
            ],
            lambda value: [str(arn) for arn in listed(resolver.resolve(value))],
        )
        for function in recorder.functions()
    }
    return sorted(
        (
            call
            for call in recorder.calls
            if not any(
                fnmatch.fnmatchcase(call.resource, pattern)
                for pattern in granted[call.function].get(call.action, ())
            )
        ),
        key=lambda call: (call.function, call.action, call.resource),
    )


# --- flows -------------------------------------------------------------------------------------------

WORKER_FLOW = {
    "name": "iam_workers",
    "version": 1,
    "tasks": [
        {"name": "iam_a", "taskReferenceName": "a"},
        {"name": "iam_b", "taskReferenceName": "b"},
        {"name": "iam_c", "taskReferenceName": "c"},
    ],
}


def _poll(harness: Harness, task_type: str) -> dict[str, Any]:
    response = harness.api("GET", f"/api/tasks/poll/batch/{task_type}?count=1&timeout=100&workerid=w1")
    (task,) = response.json()
    return dict(task)


def _send_result(harness: Harness, task: dict[str, Any], status: str, **extra: Any) -> None:
    result = ResultMessage.model_validate(
        {
            "workflowInstanceId": task["workflowInstanceId"],
            "taskId": task["taskId"],
            "status": status,
            **extra,
        }
    )
    harness.runtime.sqs.send_message(
        QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.model_dump_json(by_alias=True)
    )
    harness.pump()


def _run_again_by_the_decider(
    harness: Harness, workflow_id: str, before_the_decider: Callable[[], None] = lambda: None
) -> None:
    """Restart the finished workflow and terminate it once its first task is out. A start runs its first
    decide itself, and results are decided where they land: a restart is decided by the decider."""
    assert harness.api("POST", f"/api/workflow/{workflow_id}/restart").status == 204
    before_the_decider()
    harness.pump()
    workflow = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert [task["status"] for task in workflow["tasks"]] == ["SCHEDULED"]
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}").status == 200


def test_worker_tasks_lookups_and_removal(recorded: tuple[Harness, Recorder]) -> None:
    harness, recorder = recorded
    task_defs = [{"name": n, "retryCount": 0, "responseTimeoutSeconds": 30} for n in ("iam_a", "iam_b")]
    task_defs.append(
        {"name": "iam_c", "retryCount": 0, "responseTimeoutSeconds": 30, "concurrentExecLimit": 1}
    )
    assert harness.api("POST", "/api/metadata/taskdefs", task_defs).status == 200
    assert harness.api("POST", "/api/metadata/workflow", WORKER_FLOW).status == 200
    workflow_id = harness.api("POST", "/api/workflow/iam_workers?correlationId=c-1", {"x": 1}).text
    harness.pump()

    # a REST worker, then an SQS-native one (with logs, an IN_PROGRESS requeue, then the result)
    a = _poll(harness, "iam_a")
    body = {"workflowInstanceId": workflow_id, "taskId": a["taskId"], "status": "COMPLETED", "outputData": {}}
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()
    b = _poll(harness, "iam_b")
    _send_result(harness, b, "IN_PROGRESS", callbackAfterSeconds=0, logs=[{"log": "half way"}])
    b = _poll(harness, "iam_b")
    _send_result(harness, b, "COMPLETED", outputData={"ok": True})
    c = _poll(harness, "iam_c")
    _send_result(harness, c, "COMPLETED")

    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "COMPLETED"
    for target in (
        f"/api/tasks/{a['taskId']}",
        f"/api/tasks/{b['taskId']}/log",
        "/api/workflow/running/iam_workers?version=1",
        "/api/workflow/iam_workers/correlated/c-1?includeClosed=true",
        "/api/workflow/search?query=status%3DCOMPLETED",
    ):
        assert harness.api("GET", target).status == 200, target
    harness.clock.advance(120)
    importlib.import_module("batonflow.handlers.sweeper").handler({}, context("sweeper"))
    _run_again_by_the_decider(harness, workflow_id)
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}/remove").status == 200
    harness.pump()

    assert recorder.functions() >= {
        "ApiFunction",
        "DeciderFunction",
        "CompleteFunction",
        "SweeperFunction",
        "ReaperFunction",
    }
    assert uncovered(harness, recorder) == []


def test_timers_system_tasks_and_event_sinks(
    recorded: tuple[Harness, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness, recorder = recorded
    timers = TimerTap(harness, monkeypatch)  # the timer queue's delay on the fake clock
    sink = "baton-dev-events-orders"
    queue_url = harness.runtime.sqs.create_queue(QueueName=sink)["QueueUrl"]
    definition = {
        "name": "iam_system",
        "version": 1,
        "tasks": [
            {
                "name": "pause",
                "taskReferenceName": "pause",
                "type": "WAIT",
                "inputParameters": {"duration": "2s"},
            },
            {
                "name": "notify",
                "taskReferenceName": "notify",
                "type": "EVENT",
                "sink": f"sqs:{sink}",
                "inputParameters": {"order": "o-1"},
            },
        ],
    }
    assert harness.api("POST", "/api/metadata/workflow", definition).status == 200
    workflow_id = harness.api("POST", "/api/workflow/iam_system", {}).text
    harness.pump()
    harness.clock.advance(3)
    assert timers.deliver() == 1
    harness.pump()

    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "COMPLETED"
    (message,) = harness.receive_all(queue_url)
    assert json.loads(message["Body"])["order"] == "o-1"
    assert {"TimerFunction", "SystemTaskFunction"} <= recorder.functions()
    assert uncovered(harness, recorder) == []


BIG_FLOW = {
    "name": "iam_big",
    "version": 1,
    "tasks": [
        {"name": "iam_big_a", "taskReferenceName": "a", "inputParameters": {"in": "${workflow.input.blob}"}},
        {"name": "iam_big_b", "taskReferenceName": "b", "inputParameters": {"in": "${a.output.blob}"}},
    ],
    "outputParameters": {"blob": "${b.output.blob}"},
}


def _cold(harness: Harness) -> None:
    """Forget the payloads read and written so far, as a new Lambda container would: the next function
    to need one calls S3 itself (the harness's functions share one process, and so one cache)."""
    payloads = harness.runtime.executions.payloads
    assert payloads is not None
    harness.runtime.executions.payloads = Payloads(
        lambda: payloads.client, payloads.bucket, threshold=payloads.threshold
    )


def test_large_payloads(recorded: tuple[Harness, Recorder]) -> None:
    harness, recorder = recorded
    task_defs = [{"name": n, "retryCount": 0} for n in ("iam_big_a", "iam_big_b")]
    assert harness.api("POST", "/api/metadata/taskdefs", task_defs).status == 200
    assert harness.api("POST", "/api/metadata/workflow", BIG_FLOW).status == 200
    workflow_id = harness.api("POST", "/api/workflow/iam_big", {"blob": "i" * 100_000}).text
    _cold(harness)
    harness.pump()

    # a REST worker: its poll reads the input, its update stores the output
    _cold(harness)
    a = _poll(harness, "iam_big_a")
    body = {"workflowInstanceId": workflow_id, "taskId": a["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", {**body, "outputData": {"blob": "a" * 100_000}}).status == 200
    _cold(harness)
    harness.pump()
    # an SQS-native worker: an IN_PROGRESS report (the attempt is read back, input and all), then an output
    # it uploaded itself (the test's upload is no function's call)
    b = _poll(harness, "iam_big_b")
    _cold(harness)
    _send_result(harness, b, "IN_PROGRESS", callbackAfterSeconds=0)
    b = _poll(harness, "iam_big_b")
    payloads = harness.runtime.executions.payloads
    output = payloads.offload({"blob": "b" * 100_000}, workflow_id)
    _cold(harness)
    _send_result(harness, b, "COMPLETED", outputData=output)

    _cold(harness)
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["output"] == {"blob": "b" * 100_000}
    _run_again_by_the_decider(harness, workflow_id, lambda: _cold(harness))
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}/remove").status == 200
    harness.pump()

    actions = {(call.function, call.action) for call in recorder.calls if call.action.startswith("s3:")}
    assert actions >= {
        ("ApiFunction", "s3:GetObject"),
        ("ApiFunction", "s3:PutObject"),
        ("ApiFunction", "s3:ListBucket"),
        ("ApiFunction", "s3:DeleteObject"),
        ("DeciderFunction", "s3:GetObject"),
        ("DeciderFunction", "s3:PutObject"),
        ("CompleteFunction", "s3:GetObject"),
        ("ReaperFunction", "s3:ListBucket"),
    }
    assert uncovered(harness, recorder) == []


def test_a_call_the_statements_do_not_allow_is_reported(recorded: tuple[Harness, Recorder]) -> None:
    harness, recorder = recorded
    with recorder.acting("SweeperFunction"):
        harness.runtime.sqs.send_message(QueueUrl=harness.queue_url("TimerQueue"), MessageBody="{}")
        harness.runtime.sqs.get_queue_url(QueueName="baton-dev-decider.fifo")

    assert [(call.action, call.resource.rsplit(":", 1)[-1]) for call in uncovered(harness, recorder)] == [
        ("sqs:GetQueueUrl", "baton-dev-decider.fifo"),
        ("sqs:SendMessage", "baton-dev-timers"),
    ]
