"""The EVENT task's payload and publishing rules, against a recording stand-in for the SQS client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from batonflow.model import Task, TaskStatus, Workflow
from batonflow.system_tasks.event import publish

WORKFLOW = Workflow(
    workflow_id="wf-1",
    workflow_name="orders",
    workflow_version=3,
    correlation_id="c-1",
    task_to_domain={"*": "d"},
)


class Sqs:
    """Knows some queue names; records what is sent; can be told to fail a call with an AWS error code."""

    def __init__(self, *queues: str, fail_send: str | None = None) -> None:
        self.queues = set(queues)
        self.fail_send = fail_send
        self.sent: list[dict[str, Any]] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        if QueueName not in self.queues:
            raise ClientError({"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue"}}, "GetQueueUrl")
        return {"QueueUrl": f"https://sqs/{QueueName}"}

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        if self.fail_send:
            raise ClientError({"Error": {"Code": self.fail_send, "Message": "no"}}, "SendMessage")
        self.sent.append(kwargs)
        return {"MessageId": "m"}


def event_task(sink: str, *, async_complete: bool = False) -> Task:
    return Task(
        task_id="t-1",
        task_type="EVENT",
        workflow_instance_id="wf-1",
        status=TaskStatus.IN_PROGRESS,
        input_data={"id": 7, "sink": sink, "asyncComplete": async_complete},
    )


def test_the_payload_is_published_and_becomes_the_output():
    sqs = Sqs("orders")

    outcome = publish(sqs, event_task("sqs:orders"), WORKFLOW)

    expected = {
        "id": 7,
        "sink": "sqs:orders",
        "asyncComplete": False,
        "workflowInstanceId": "wf-1",
        "workflowType": "orders",
        "workflowVersion": 3,
        "correlationId": "c-1",
        "taskToDomain": {"*": "d"},
        "event_produced": "sqs:orders",
    }
    assert (outcome.status, outcome.output, outcome.reason) == (TaskStatus.COMPLETED, expected, None)
    [sent] = sqs.sent
    assert sent["QueueUrl"] == "https://sqs/orders"
    assert json.loads(sent["MessageBody"]) == expected
    assert "MessageGroupId" not in sent


def test_async_complete_leaves_the_task_in_progress():
    assert (
        publish(Sqs("q"), event_task("sqs:q", async_complete=True), WORKFLOW).status == TaskStatus.IN_PROGRESS
    )


def test_a_fifo_queue_gets_a_group_and_a_deduplication_id():
    sqs = Sqs("q.fifo")

    publish(sqs, event_task("sqs:q.fifo"), WORKFLOW)

    assert (sqs.sent[0]["MessageGroupId"], sqs.sent[0]["MessageDeduplicationId"]) == ("wf-1", "t-1")


@pytest.mark.parametrize("sink", ["conductor", "kafka:t", "sqs:", None])
def test_unsupported_sinks_fail_without_a_call(sink: Any):
    sqs = Sqs("t")

    outcome = publish(sqs, event_task(sink), WORKFLOW)

    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason == f"Unsupported sink: {sink}. EVENT tasks publish to sqs:<queue name> only"
    assert sqs.sent == []


def test_a_missing_queue_fails_the_task():
    outcome = publish(Sqs(), event_task("sqs:gone"), WORKFLOW)

    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason == "Error publishing to sqs:gone: queue gone does not exist"
    assert "event_produced" not in outcome.output


def test_a_refused_send_fails_the_task_and_a_throttled_one_is_retried_by_sqs():
    refused = publish(Sqs("q", fail_send="AccessDenied"), event_task("sqs:q"), WORKFLOW)

    assert refused.status == TaskStatus.FAILED
    assert refused.reason.startswith("Error publishing to sqs:q: An error occurred (AccessDenied)")
    with pytest.raises(ClientError):
        publish(Sqs("q", fail_send="ThrottlingException"), event_task("sqs:q"), WORKFLOW)
