"""Found while building ``baton chaos``: a task held by an SQS-native worker never times out.

The SDK runtime renews its lease for as long as the task function runs, "hung or not", and documents the
engine's ``timeoutSeconds``/``responseTimeoutSeconds`` as the bound on how long a task may take
(``batonflow.sdk.runner``). But the attempt stays SCHEDULED with ``startTime`` 0 until its result arrives
(the worker tells the engine nothing before), and ``engine.timeouts`` only counts ``timeoutSeconds`` from
a start time and ``responseTimeoutSeconds`` from IN_PROGRESS: neither deadline exists, no timer is set,
and a hung worker holds the task, and its workflow, for ever. A REST-polled task is IN_PROGRESS with a
start time and does time out (``baton chaos`` runs its timeout workload with a REST worker for that).
"""

from __future__ import annotations

import pytest

from batonflow.model.wire import DeciderReason
from tests.support.stack import Harness

HANG = {"name": "hang", "retryCount": 0, "timeoutSeconds": 2, "responseTimeoutSeconds": 2}
FLOW = {"name": "hangs", "version": 1, "tasks": [{"name": "hang", "taskReferenceName": "h"}]}


@pytest.mark.xfail(strict=True, reason="engine bug: see the module docstring")
def test_a_task_an_sqs_worker_holds_past_its_timeout_times_out(harness: Harness):
    assert harness.api("POST", "/api/metadata/taskdefs", [HANG]).status == 200
    assert harness.api("PUT", "/api/metadata/workflow", [FLOW]).status == 200
    workflow_id = harness.api("POST", "/api/workflow/hangs", {}).text
    harness.pump()
    queue = harness.runtime.queues.task_queue_url("hang")
    held = harness.runtime.sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"]
    assert len(held) == 1  # a worker took the task, and hangs (its lease renewed)

    harness.clock.advance(30)
    harness.runtime.queues.wake_workflows([workflow_id], DeciderReason.SWEEP)  # whatever wakes it
    harness.pump()

    [task] = harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]
    assert task["status"] == "TIMED_OUT"
