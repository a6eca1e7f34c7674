"""Found by ``baton chaos``: a decider that died after creating a child workflow but before sending the
child's start message left the child unstarted until the sweeper (about two minutes: the child's first
deadline is a minute after its creation, and the sweeper waits a minute more), although the parent's
decider message comes back at once.

The redelivered parent decide repeats its outbox, and ``start_for_task`` took the child's existing header
(``ConflictError``) as "started already" and sent nothing, so nothing woke the child. DESIGN §6: a crash
between a DynamoDB write and the SQS send is recovered by the redelivered message, the sweeper being only
the safety net. Now a repeated start wakes the child again.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.test_sub_workflows import CHILD, PARENT, workflow
from tests.support.stack import Harness


class CrashOnce:
    """Wraps an SQS client method: the first send to ``queue_url`` raises, as a Lambda dying there."""

    def __init__(self, send: Any, queue_url: str) -> None:
        self._send = send
        self._queue_url = queue_url
        self.crashed = False

    def __call__(self, **params: Any) -> Any:
        if not self.crashed and params.get("QueueUrl") == self._queue_url:
            self.crashed = True
            raise RuntimeError("the function died before this send")
        return self._send(**params)


def test_a_child_whose_start_message_died_with_the_decider_starts_on_the_redelivery(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    assert harness.api("PUT", "/api/metadata/workflow", [CHILD, PARENT]).status == 200
    parent_id = harness.api("POST", "/api/workflow/parent_flow", {"x": 41}).text
    sqs = harness.runtime.sqs
    send_one = CrashOnce(sqs.send_message, harness.queue_url("DeciderQueue"))
    send_batch = CrashOnce(sqs.send_message_batch, harness.queue_url("DeciderQueue"))
    monkeypatch.setattr(sqs, "send_message", send_one)
    monkeypatch.setattr(sqs, "send_message_batch", send_batch)
    # the API's start message is already queued; the parent's first decide creates the child, then dies
    harness.pump("decider")
    assert send_one.crashed or send_batch.crashed
    monkeypatch.undo()

    harness.pump()  # the redelivered parent message, and whatever it sends; no time passes

    [sub] = workflow(harness, parent_id)["tasks"]
    child = workflow(harness, sub["subWorkflowId"])
    assert child["status"] == "RUNNING"
    assert [task["referenceTaskName"] for task in child["tasks"]] == ["cw"]
