"""Found by ``baton chaos``: a decider that died after creating a child workflow but before sending the
child's start message left the child unstarted until the sweeper (about two minutes: the child's first
deadline is a minute after its creation, and the sweeper waits a minute more), although the parent's
decider message comes back at once.

The redelivered parent decide repeats its outbox, and ``start_for_task`` took the child's existing header
(``ConflictError``) as "started already" and sent nothing, so nothing woke the child. DESIGN §6: a crash
between a DynamoDB write and the SQS send is recovered by the redelivered message, the sweeper being only
the safety net. Now a repeated start wakes the child again.

A start now runs its first decide itself, the child's inside the decider too: what dies with the decider
is the child's first task, held with the batch's other sends, and the child's confirmation, which waits
for them. The woken child is still at version 1, so its decide repeats the child's outbox. This parent
waits first, so that its WAIT's timer has the decider (not the API request) decide the SUB_WORKFLOW.
"""

from __future__ import annotations

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


def test_a_child_whose_first_task_died_with_the_decider_starts_on_the_redelivery(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    assert harness.api("PUT", "/api/metadata/workflow", [CHILD, PARENT_AFTER_WAIT]).status == 200
    timers = TimerTap(harness, monkeypatch)
    parent_id = harness.api("POST", "/api/workflow/parent_after_wait", {"x": 41}).text
    sqs = harness.runtime.sqs
    child_tasks = harness.runtime.queues.task_queue_url("child_work")
    send_one = CrashOnce(sqs.send_message, child_tasks)
    send_batch = CrashOnce(sqs.send_message_batch, child_tasks)
    monkeypatch.setattr(sqs, "send_message", send_one)
    monkeypatch.setattr(sqs, "send_message_batch", send_batch)
    harness.clock.advance(2)
    # the WAIT's timer wakes the decider; its decide creates the child, then dies sending the child's first
    # task, and the decider message comes back at once (no time passes)
    assert timers.deliver() == 1
    assert send_one.crashed or send_batch.crashed

    [_, sub] = workflow(harness, parent_id)["tasks"]
    child = workflow(harness, sub["subWorkflowId"])
    assert child["status"] == "RUNNING"
    assert [task["referenceTaskName"] for task in child["tasks"]] == ["cw"]
    assert len(harness.receive_all(child_tasks)) == 1
    header = harness.runtime.executions.load(sub["subWorkflowId"], include_tasks=False)
    assert header is not None and header.header.version == 2
