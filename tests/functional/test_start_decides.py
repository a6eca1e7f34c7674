"""A start runs its workflow's first decide itself (DESIGN §3, as Conductor does): when the API answers, the
first task is on its queue and in the workflow, and the decider is not involved. Until the start confirms
its effects, the header keeps a wake-up a minute ahead, so a start that dies in between is finished by the
sweeper: its decide repeats the outbox of a header still at version 1."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from batonflow.service.starting import START_GRACE_MS
from batonflow.service.timers import SWEEP_GRACE_MS, sweep
from batonflow.store.layout import HEADER_SK, Header
from tests.functional.test_definition_snapshots import snapshots
from tests.functional.test_throttled_burst import items
from tests.support.stack import Harness

CHAIN = {
    "name": "chain",
    "version": 1,
    "tasks": [
        {"name": "first", "taskReferenceName": "first", "inputParameters": {"n": "${workflow.input.n}"}},
        {"name": "second", "taskReferenceName": "second"},
    ],
}


def header(harness: Harness, workflow_id: str) -> Header:
    loaded = harness.runtime.executions.load(workflow_id, include_tasks=False)
    assert loaded is not None
    return loaded.header


def after_the_start_grace(harness: Harness) -> None:
    harness.clock.advance((START_GRACE_MS + SWEEP_GRACE_MS) / 1000 + 1)


def first_tasks_queued(harness: Harness) -> list[str]:
    messages = harness.receive_all(harness.runtime.queues.task_queue_url("first"))
    return [message["Body"] for message in messages]


def test_the_answer_comes_with_the_first_task_queued_and_nothing_left_for_the_sweeper(harness: Harness):
    assert harness.api("POST", "/api/metadata/workflow", CHAIN).status == 200

    workflow_id = harness.api("POST", "/api/workflow/chain", {"n": 7}).text

    [task] = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
    assert (task["referenceTaskName"], task["status"], task["inputData"]) == ("first", "SCHEDULED", {"n": 7})
    assert len(first_tasks_queued(harness)) == 1
    assert harness.receive_all(harness.queue_url("DeciderQueue")) == []
    stored = header(harness, workflow_id)
    assert stored.version == 2  # confirmed
    assert stored.wake_at is None  # the plan has no deadline: nothing for the sweeper
    after_the_start_grace(harness)
    assert sweep(harness.runtime) == 0


class DiesSendingTasks:
    """The API function dies at its first send to a task queue."""

    def __init__(self, harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        queues = harness.runtime.queues
        send_batches = queues._send_batches
        self.died = False

        def send(url: str, entries: list[dict[str, Any]]) -> None:
            if "-task-" in url and not self.died:
                self.died = True
                raise RuntimeError("the function died before this send")
            send_batches(url, entries)

        monkeypatch.setattr(queues, "_send_batches", send)


def test_a_start_that_died_before_sending_its_first_task_is_finished_by_the_sweeper_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    assert harness.api("POST", "/api/metadata/workflow", CHAIN).status == 200
    crash = DiesSendingTasks(harness, monkeypatch)

    response = harness.api("POST", "/api/workflow/chain", {"n": 7})

    assert crash.died and response.status == 500
    [workflow_id] = _workflow_ids(harness)
    [task] = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
    assert task["status"] == "SCHEDULED"
    assert first_tasks_queued(harness) == []
    assert header(harness, workflow_id).version == 1  # not confirmed
    after_the_start_grace(harness)
    assert sweep(harness.runtime) == 1
    harness.pump()
    [sent] = first_tasks_queued(harness)
    assert task["taskId"] in sent
    assert sweep(harness.runtime) == 0  # the recovering decide replaced the start's wake-up


def test_a_repeated_start_sends_what_the_first_one_died_before_sending(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    """The client's retry with the same idempotency key finds the workflow and wakes it; the decide of a
    header the start did not confirm repeats its outbox, without waiting for the sweeper."""
    assert harness.api("POST", "/api/metadata/workflow", CHAIN).status == 200
    DiesSendingTasks(harness, monkeypatch)
    request = {
        "name": "chain",
        "input": {"n": 7},
        "idempotencyKey": "k",
        "idempotencyStrategy": "RETURN_EXISTING",
    }
    assert harness.api("POST", "/api/workflow", request).status == 500

    workflow_id = harness.api("POST", "/api/workflow", request).text
    harness.pump()

    [task] = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
    [sent] = first_tasks_queued(harness)
    assert task["taskId"] in sent
    harness.api("POST", "/api/workflow", request)  # once confirmed, a repeated start sends nothing again
    harness.pump()
    assert first_tasks_queued(harness) == []


def test_a_start_whose_header_write_was_throttled_leaves_no_task_behind(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    """The task items go first; refused, the header's put wrote nothing, and nothing would ever delete
    task items without a header (the reaper follows headers): the start takes them back."""
    assert harness.api("POST", "/api/metadata/workflow", CHAIN).status == 200
    before = items(harness)
    store = harness.runtime.executions
    put_new = store._put_new

    def throttle_headers(item: dict[str, Any]) -> bool:
        if item["SK"]["S"] == HEADER_SK:
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
            raise ClientError({"Error": error}, "PutItem")
        return put_new(item)

    monkeypatch.setattr(store, "_put_new", throttle_headers)

    response = harness.api("POST", "/api/workflow/chain", {"n": 7})

    assert (response.status, response.json()["retryable"]) == (503, True)
    assert len(snapshots(harness)) == 1  # the definition's: shared by executions, kept, the retry's too
    assert items(harness) == before + 1
    assert first_tasks_queued(harness) == []


def _workflow_ids(harness: Harness) -> list[str]:
    response = harness.api("GET", "/api/workflow/running/chain?version=1")
    assert response.status == 200
    return list(response.json())
