"""What one REST poll costs in AWS calls (issue "Cost of HTTP polling"): conductor-python polls about 10 times
a second per idle worker, each poll an API Gateway request and a Lambda invocation on AWS.

An empty poll is one SQS ReceiveMessage and nothing in DynamoDB. It holds for the requested ``timeout``
as an SQS long poll where SQS can: ``WaitTimeSeconds`` is whole seconds, so the SDK's 100 ms is a short
receive (never holding longer than asked), and 2,500 ms holds 2 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.stack import Harness


@dataclass
class AwsCalls:
    """Every AWS call the engine's clients make, with its parameters; receives that would long-poll moto
    (which really waits) answer empty at once instead."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def record(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((event_name.split(".", 1)[1], dict(params)))

    def answer_long_polls(self, params: dict[str, Any], **_: Any) -> Any:
        _, last = self.calls[-1]
        if last.get("WaitTimeSeconds", 0) > 0:
            return SimpleNamespace(status_code=200), {}
        return None

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]


@pytest.fixture
def aws_calls(harness: Harness) -> AwsCalls:
    counter = AwsCalls()
    dynamodb = harness.runtime.executions._client
    for client in (harness.runtime.sqs, dynamodb):
        client.meta.events.register("before-parameter-build", counter.record)
    harness.runtime.sqs.meta.events.register("before-call.sqs.ReceiveMessage", counter.answer_long_polls)
    return counter


def poll(harness: Harness, task_type: str, timeout_ms: int) -> Any:
    target = f"/api/tasks/poll/batch/{task_type}?workerid=w1&count=5&timeout={timeout_ms}"
    response = harness.api("GET", target)
    assert response.status == 200, response.text
    return response.json()


def test_an_empty_poll_is_one_short_sqs_receive_and_no_dynamodb_call(harness: Harness, aws_calls: AwsCalls):
    assert poll(harness, "greet", 100) == []  # the first poll of a type also looks its queue up
    aws_calls.calls.clear()

    assert poll(harness, "greet", 100) == []

    [(operation, params)] = aws_calls.calls
    assert operation == "sqs.ReceiveMessage"
    assert params["WaitTimeSeconds"] == 0
    assert params["MaxNumberOfMessages"] == 5
    assert params["QueueUrl"] == harness.runtime.queues.task_queue_url("greet")


@pytest.mark.parametrize(("timeout_ms", "wait_s"), [(0, 0), (999, 0), (1000, 1), (2500, 2), (5000, 5)])
def test_an_empty_poll_holds_a_long_poll_of_the_whole_seconds_requested(
    harness: Harness, aws_calls: AwsCalls, timeout_ms: int, wait_s: int
):
    poll(harness, "greet", 0)
    aws_calls.calls.clear()

    assert poll(harness, "greet", timeout_ms) == []

    assert aws_calls.operations() == ["sqs.ReceiveMessage"]
    assert aws_calls.calls[0][1]["WaitTimeSeconds"] == wait_s


def test_a_poll_that_leases_a_task_writes_only_for_that_task(harness: Harness, aws_calls: AwsCalls):
    """The contrast: DynamoDB is touched only when there is a task. A new task is held in its workflow's
    header: the poll reads the task (no item), the header, and its lease creates the task's item."""
    workflow = {
        "name": "one",
        "version": 1,
        "tasks": [{"name": "greet", "taskReferenceName": "greet", "type": "SIMPLE"}],
    }
    assert harness.api("PUT", "/api/metadata/workflow", [workflow]).status == 200
    assert harness.api("POST", "/api/workflow/one", {}).status == 200
    harness.pump()
    aws_calls.calls.clear()

    [task] = poll(harness, "greet", 100)

    assert task["status"] == "IN_PROGRESS"
    operations = aws_calls.operations()
    assert operations[0] == "sqs.ReceiveMessage"
    assert [o for o in operations if o.startswith("dynamodb.")] == [
        "dynamodb.GetItem",
        "dynamodb.GetItem",
        "dynamodb.PutItem",
    ]
