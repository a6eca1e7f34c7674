"""A decider invocation sends the tasks of every workflow it decided in one batch, and loses none if that
send fails: the batch comes back and the redelivered decides repeat their outboxes."""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.model.wire import TaskMessage
from tests.support.stack import Harness

ONE_TASK = {"name": "one", "tasks": [{"name": "job", "taskReferenceName": "job_ref"}]}


def _start(harness: Harness, count: int) -> list[str]:
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", ONE_TASK).status == 200
    return [harness.start_by_the_decider("one", {}) for _ in range(count)]


def _sends_to(harness: Harness, url: str) -> list[tuple[str, int]]:
    sends: list[tuple[str, int]] = []

    def record(event_name: str, params: dict[str, Any], **_: Any) -> None:
        if params.get("QueueUrl") == url:
            sends.append((event_name.rsplit(".", 1)[1], len(params.get("Entries", [params]))))

    harness.runtime.sqs.meta.events.register("before-parameter-build.sqs", record)
    return sends


def _fail_the_first_send(harness: Harness, monkeypatch: pytest.MonkeyPatch, url: str) -> list[dict[str, Any]]:
    """The first SendMessageBatch to ``url`` dies (the invocation with it); returns the failed sends."""
    real_send = harness.runtime.sqs.send_message_batch
    failures: list[dict[str, Any]] = []

    def send_failing_once(**params: Any) -> Any:
        if params["QueueUrl"] == url and not failures:
            failures.append(params)
            raise ConnectionError("the invocation dies while sending")
        return real_send(**params)

    monkeypatch.setattr(harness.runtime.sqs, "send_message_batch", send_failing_once)
    return failures


def test_one_invocation_deciding_three_workflows_sends_their_tasks_in_one_call(harness: Harness) -> None:
    workflow_ids = _start(harness, 3)
    sends = _sends_to(harness, harness.runtime.queues.task_queue_url("job"))

    assert harness.pollers["decider"].poll_once() == 3

    assert sends == [("SendMessageBatch", 3)]
    messages = harness.receive_all(harness.runtime.queues.task_queue_url("job"))
    assert sorted(
        TaskMessage.model_validate_json(m["Body"]).workflow_instance_id for m in messages
    ) == sorted(workflow_ids)


def test_a_failed_batched_send_is_repeated_from_the_outboxes_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow_ids = _start(harness, 3)
    url = harness.runtime.queues.task_queue_url("job")
    failures = _fail_the_first_send(harness, monkeypatch, url)

    harness.pump()

    assert len(failures) == 1
    messages = harness.receive_all(url)
    sent = sorted(TaskMessage.model_validate_json(m["Body"]).workflow_instance_id for m in messages)
    assert sent == sorted(workflow_ids)  # each workflow's task once: none lost, none doubled
    for workflow_id in workflow_ids:
        tasks = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
        assert [(t["referenceTaskName"], t["status"]) for t in tasks] == [("job_ref", "SCHEDULED")]


FORK = {
    "name": "wide",
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN_DYNAMIC",
            "inputParameters": {"forkTaskName": "leaf", "forkTaskInputs": "${workflow.input.items}"},
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"},
    ],
}


def test_a_wide_fork_whose_send_failed_is_repeated_from_a_header_that_stays_small(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox names the sent attempts by ranges of sequence numbers: one for the whole fork. (One entry
    per task id outgrew DynamoDB's 400 KB item at about 6,500 branches.)"""
    branches = 1_000
    assert harness.api("POST", "/api/metadata/workflow", FORK).status == 200
    items = [{"n": n} for n in range(branches)]
    workflow_id = harness.api("POST", "/api/workflow/wide", {"items": items}).text
    url = harness.runtime.queues.task_queue_url("leaf")
    failures = _fail_the_first_send(harness, monkeypatch, url)

    harness.pump()

    loaded = harness.runtime.executions.load(workflow_id)
    assert loaded is not None
    leaves = sorted(t.seq for t in loaded.tasks if t.task_def_name == "leaf")
    assert loaded.header.outbox == [{"seqs": [[leaves[0], leaves[-1]]], "delay": 0}]
    messages = harness.receive_all(url)
    sent = sorted(TaskMessage.model_validate_json(m["Body"]).input_data["n"] for m in messages)
    assert (len(failures), sent) == (1, list(range(branches)))  # every branch once: none lost, none doubled
