"""Found by ``baton chaos``: a decider that died after creating a child workflow but before sending the
child's start message left the child unstarted until the sweeper (about two minutes: the child's first
deadline is a minute after its creation, and the sweeper waits a minute more), although the parent's
decider message comes back at once.

The redelivered parent decide repeats its outbox, and ``start_for_task`` took the child's existing header
(``ConflictError``) as "started already" and sent nothing, so nothing woke the child. DESIGN §6: a crash
between a DynamoDB write and the SQS send is recovered by the redelivered message, the sweeper being only
the safety net. Now a repeated start wakes the child again.

A start runs its first decide itself, so a parent that starts with its SUB_WORKFLOW starts the child
inside the API request; this parent waits first, and its WAIT's timer has the decider decide the SUB_WORKFLOW.
The decider holds its sends until its batch ends, so it leaves the child's first decide to the decider,
through the start message that dies here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functional.test_sub_workflows import CHILD, PARENT, workflow
from tests.support.stack import Harness
from tests.support.timers import TimerTap

PARENT_AFTER_WAIT = {
    **PARENT,
    "name": "parent_after_wait",
    "tasks": [
        {
            "name": "pause",
            "taskReferenceName": "pause",
            "type": "WAIT",
            "inputParameters": {"duration": "1s"},
        },
        *PARENT["tasks"],
    ],
}


class CrashOnce:
    """Wraps an SQS client method: the first send of a start message to ``queue_url`` raises, as a Lambda
    dying there."""

    def __init__(self, send: Any, queue_url: str) -> None:
        self._send = send
        self._queue_url = queue_url
        self.crashed = False

    def __call__(self, **params: Any) -> Any:
        bodies = [params.get("MessageBody", "")] + [e["MessageBody"] for e in params.get("Entries", [])]
        starts = any(json.loads(body).get("reason") == "start" for body in bodies)
        if not self.crashed and params.get("QueueUrl") == self._queue_url and starts:
            self.crashed = True
            raise RuntimeError("the function died before this send")
        return self._send(**params)


def test_a_child_whose_start_message_died_with_the_decider_starts_on_the_redelivery(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    assert harness.api("PUT", "/api/metadata/workflow", [CHILD, PARENT_AFTER_WAIT]).status == 200
    timers = TimerTap(harness, monkeypatch)
    parent_id = harness.api("POST", "/api/workflow/parent_after_wait", {"x": 41}).text
    sqs = harness.runtime.sqs
    send_one = CrashOnce(sqs.send_message, harness.queue_url("DeciderQueue"))
    send_batch = CrashOnce(sqs.send_message_batch, harness.queue_url("DeciderQueue"))
    monkeypatch.setattr(sqs, "send_message", send_one)
    monkeypatch.setattr(sqs, "send_message_batch", send_batch)
    harness.clock.advance(2)
    # the WAIT's timer wakes the decider; its decide creates the child, then dies sending its start message,
    # and the decider message comes back at once (no time passes)
    assert timers.deliver() == 1
    assert send_one.crashed or send_batch.crashed

    [_, sub] = workflow(harness, parent_id)["tasks"]
    child = workflow(harness, sub["subWorkflowId"])
    assert child["status"] == "RUNNING"
    assert [task["referenceTaskName"] for task in child["tasks"]] == ["cw"]
