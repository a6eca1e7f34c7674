"""Poison and recovery: a message a function keeps failing on lands in its dead-letter queue after the
template's ``maxReceiveCount`` receives, instead of blocking its queue or being lost; ``baton dlq list``
shows it without consuming it, and ``baton dlq redrive`` sends it back once the fault is gone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from batonflow.cli.main import app
from batonflow.queues.sqs import Queues, SendError
from tests.support.stack import Harness

FLOW = {"name": "dlq_flow", "version": 1, "tasks": [{"name": "dlq_work", "taskReferenceName": "work"}]}
runner = CliRunner()


def baton(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def depth(harness: Harness, logical_id: str) -> int:
    url = str(harness.stack.resources[logical_id].ref)
    attributes = harness.runtime.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def max_receives(harness: Harness, logical_id: str) -> int:
    policy = harness.stack.template.resources[logical_id]["Properties"]["RedrivePolicy"]
    return int(policy["maxReceiveCount"])


def test_a_malformed_message_is_dead_lettered_after_the_configured_receives(harness: Harness):
    decider_queue = str(harness.stack.resources["DeciderQueue"].ref)
    harness.runtime.sqs.send_message(
        QueueUrl=decider_queue,
        MessageBody="not a decider message",
        MessageGroupId="g",
        MessageDeduplicationId="1",
    )

    rounds = harness.pump("decider")  # one delivery per round, each one failing

    assert rounds == max_receives(harness, "DeciderQueue")
    assert (depth(harness, "DeciderQueue"), depth(harness, "DeciderDLQ")) == (0, 1)
    code, listing = baton("dlq", "list")
    assert code == 0, listing
    assert "decider-dlq.fifo (1 messages)" in listing and "not a decider message" in listing
    assert depth(harness, "DeciderDLQ") == 1  # listing consumed nothing


def test_a_workflow_whose_decides_kept_failing_goes_on_after_a_redrive(harness: Harness, monkeypatch):
    assert harness.api("POST", "/api/metadata/workflow", FLOW).status == 200
    decider = harness.handlers["decider"]
    run_decide = decider.run_decide

    def broken(*args, **kwargs):
        raise RuntimeError("the table is throttling, say")

    monkeypatch.setattr(decider, "run_decide", broken)
    workflow_id = harness.start_by_the_decider("dlq_flow", {})
    harness.pump()
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"] == []
    assert depth(harness, "DeciderDLQ") == 1

    monkeypatch.setattr(decider, "run_decide", run_decide)
    code, output = baton(
        "dlq", "redrive", "--queue", str(harness.stack.resources["DeciderDLQ"].attributes["QueueName"])
    )
    assert code == 0, output
    assert "1 messages sent back" in output
    harness.pump()

    [task] = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
    assert (task["referenceTaskName"], task["status"]) == ("work", "SCHEDULED")
    assert depth(harness, "DeciderDLQ") == 0
    assert "0 messages sent back" in baton("dlq", "redrive")[1]


def test_a_redriven_decide_whose_commit_happened_sends_what_the_commit_recorded(
    harness: Harness, monkeypatch
):
    """Every delivery commits (the first) or finds the commit done, and every send of the task fails: the
    message is parked with its commit made and its task never sent. Sent back, it comes as a new message,
    yet must be decided as a redelivered one (outbox repeated), or the task would wait for its timeout."""
    assert harness.api("POST", "/api/metadata/workflow", FLOW).status == 200
    task_queue = harness.runtime.queues.task_queue_url("dlq_work")
    send = Queues._send_batches

    def refuse_the_task_queue(queues: Queues, url: str, entries: list[dict[str, Any]]) -> None:
        if url == task_queue:
            raise SendError("SQS refused the batch")
        send(queues, url, entries)

    monkeypatch.setattr(Queues, "_send_batches", refuse_the_task_queue)
    workflow_id = harness.start_by_the_decider("dlq_flow", {})
    harness.pump()
    [task] = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
    assert task["status"] == "SCHEDULED"  # committed, never sent
    assert depth(harness, "DeciderDLQ") == 1

    monkeypatch.setattr(Queues, "_send_batches", send)
    code, output = baton(
        "dlq", "redrive", "--queue", str(harness.stack.resources["DeciderDLQ"].attributes["QueueName"])
    )
    assert code == 0, output
    harness.pump()

    [message] = harness.receive_all(task_queue)
    assert json.loads(message["Body"])["taskId"] == task["taskId"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(("dlq", "redrive", "--queue", "no-such-dlq"), "No dead-letter queue no-such-dlq")],
)
def test_mistakes_are_one_readable_line(harness: Harness, args: tuple[str, ...], message: str):
    code, output = baton(*args)

    assert code == 1 and message in output


def test_without_a_prefix_it_says_what_to_set(harness: Harness, monkeypatch):
    monkeypatch.delenv("BATON_QUEUE_PREFIX")
    code, output = baton("dlq", "list")

    assert code == 1 and "--prefix" in output
    assert "Traceback" not in output
