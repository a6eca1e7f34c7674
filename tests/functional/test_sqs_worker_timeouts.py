"""A task held by an SQS-native worker times out like one a REST worker polled.

Taking a task message tells the engine nothing, so the attempt stays SCHEDULED, without a start time, while
the worker runs it; and ``engine.timeouts`` counts ``timeoutSeconds`` from a start time and
``responseTimeoutSeconds`` from the last update of an IN_PROGRESS attempt. A hung worker, its lease renewed
for as long as its function runs, would hold the task and its workflow for ever. So the SDK sends progress
notices for a task that runs long (``batonflow.sdk.lease``): IN_PROGRESS results with ``extendLease`` and
``startTime`` = when it received the task, first once the task has run for min(renewal interval,
0.8 x responseTimeoutSeconds) (the start notice), then every 0.8 x responseTimeoutSeconds (heartbeats).
The start notice makes the attempt IN_PROGRESS since that start time and sets a timer for its deadline
(``service.tasks._start``); heartbeats restart its response-timeout clock. The decider's timeout handling
does the rest: TIMED_OUT and a retry (RETRY), the workflow TIMED_OUT (TIME_OUT_WF), nothing (ALERT_ONLY);
the hung worker's late result changes nothing.

Most tests send the notices as the SDK does (a message on the results queue); the last two run the SDK
runtime against the stack, on the stack's fake clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from batonflow.model import TaskStatus
from batonflow.model.wire import DeciderReason, ResultMessage
from batonflow.sdk import Worker, WorkerRunner, WorkerSettings
from batonflow.service.tasks import Applied, ResultOutcome, apply_result
from tests.support.stack import Harness

FLOW = {"name": "hangs", "version": 1, "tasks": [{"name": "hang", "taskReferenceName": "h"}]}
WORKER = "w1"
RETRIED = {"retryCount": 1, "retryDelaySeconds": 0, "timeoutSeconds": 10, "responseTimeoutSeconds": 5}


def start(harness: Harness, **definition: Any) -> str:
    """Register the ``hang`` task with ``definition`` and start a workflow of it."""
    task_def = {"name": "hang", "retryCount": 0, **definition}
    assert harness.api("POST", "/api/metadata/taskdefs", [task_def]).status == 200
    assert harness.api("PUT", "/api/metadata/workflow", [FLOW]).status == 200
    workflow_id = harness.api("POST", "/api/workflow/hangs", {}).text
    harness.pump()
    return workflow_id


def hold(harness: Harness) -> dict[str, Any]:
    """What an SQS-native worker does: receive the task message, and keep it (its lease renewed)."""
    queue = harness.runtime.queues.task_queue_url("hang")
    [message] = harness.runtime.sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"]
    return json.loads(message["Body"])


def report(harness: Harness, task: dict[str, Any], status: str, start_time: int, **fields: Any) -> None:
    """Send a worker's message for ``task`` to the results queue, then let the stack apply it."""
    result = ResultMessage(
        workflowInstanceId=task["workflowInstanceId"],
        taskId=task["taskId"],
        status=status,
        workerId=WORKER,
        startTime=start_time,
        **fields,
    )
    harness.runtime.sqs.send_message(QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json())
    harness.pump()


def notice(harness: Harness, task: dict[str, Any], start_time: int) -> None:
    """A start notice or a heartbeat, as ``batonflow.sdk.execution.progress_notice`` makes them."""
    report(harness, task, "IN_PROGRESS", start_time, extendLease=True)


def apply_notice(harness: Harness, task: dict[str, Any], start_time: int) -> ResultOutcome:
    """A notice applied as ``CompleteFunction`` does, to see its outcome."""
    result = ResultMessage(
        workflowInstanceId=task["workflowInstanceId"],
        taskId=task["taskId"],
        status="IN_PROGRESS",
        extendLease=True,
        workerId=WORKER,
        startTime=start_time,
    )
    return apply_result(harness.runtime, result, allow_timed_out=True)


def wake_due(harness: Harness) -> None:
    """What the timers do once the fake clock passes their deadlines (or the sweeper, had they been lost):
    wake each workflow with a deadline passed. (A timer may also come on its own: moto delays messages in
    real time, the timer function then finds it due by the fake clock. So tests look at the outcome.)"""
    due = harness.runtime.executions.overdue_workflows(harness.clock())
    harness.runtime.queues.wake_workflows(due, DeciderReason.TIMER)
    harness.pump()


def statuses(harness: Harness, workflow_id: str) -> list[str]:
    return [task["status"] for task in attempts(harness, workflow_id)]


def execution(harness: Harness, workflow_id: str) -> dict[str, Any]:
    response = harness.api("GET", f"/api/workflow/{workflow_id}")
    assert response.status == 200, response.text
    return response.json()


def attempts(harness: Harness, workflow_id: str) -> list[dict[str, Any]]:
    return execution(harness, workflow_id)["tasks"]


def run_until_timed_out(harness: Harness, workflow_id: str) -> tuple[dict[str, Any], int]:
    """A worker takes the task (timeoutSeconds 10, responseTimeoutSeconds 5) and hangs, sending its start
    notice 2 s later and a heartbeat at 6 s, until the timeout; returns the held task and its start time."""
    task = hold(harness)
    received = harness.clock()
    harness.clock.advance(2)
    notice(harness, task, received)
    harness.clock.advance(4)
    notice(harness, task, received)
    harness.clock.advance(3)  # past the start notice's response deadline (7 s), which the heartbeat moved
    wake_due(harness)
    assert statuses(harness, workflow_id) == ["IN_PROGRESS"]
    harness.clock.advance(1)
    wake_due(harness)
    return task, received


def test_a_start_notice_starts_the_attempt_and_sets_a_timer_for_its_deadline(harness: Harness):
    workflow_id = start(harness, timeoutSeconds=10, responseTimeoutSeconds=5, timeoutPolicy="RETRY")
    task = hold(harness)
    received = harness.clock()
    harness.clock.advance(2)

    notice(harness, task, received)

    [started] = attempts(harness, workflow_id)
    assert started["status"] == "IN_PROGRESS"
    assert (started["startTime"], started["updateTime"]) == (received, harness.clock())
    assert (started["pollCount"], started["workerId"]) == (1, WORKER)
    # the earlier deadline: the response timeout, 5 s after the notice (timeoutSeconds ends 3 s later)
    deadline = harness.clock() + 5_000
    overdue = harness.runtime.executions.overdue_workflows
    assert (overdue(deadline - 1), overdue(deadline)) == ([], [workflow_id])


def test_a_heartbeating_task_times_out_after_timeout_seconds_and_is_retried(harness: Harness):
    workflow_id = start(harness, **RETRIED, timeoutPolicy="RETRY")

    run_until_timed_out(harness, workflow_id)

    first, retry = attempts(harness, workflow_id)
    assert first["status"] == "TIMED_OUT"
    assert first["reasonForIncompletion"].startswith("Task timed out after 10 seconds")
    assert (retry["status"], retry["retryCount"], retry["retriedTaskId"]) == ("SCHEDULED", 1, first["taskId"])
    assert hold(harness)["taskId"] == retry["taskId"]  # the retry is on the queue for the next worker
    assert execution(harness, workflow_id)["status"] == "RUNNING"


def test_time_out_wf_times_out_the_workflow_without_a_retry(harness: Harness):
    workflow_id = start(harness, **RETRIED, timeoutPolicy="TIME_OUT_WF")

    run_until_timed_out(harness, workflow_id)

    workflow = execution(harness, workflow_id)
    assert workflow["status"] == "TIMED_OUT"
    assert [t["status"] for t in workflow["tasks"]] == ["TIMED_OUT"]


def test_alert_only_lets_a_heartbeating_task_run_past_timeout_seconds(harness: Harness):
    workflow_id = start(harness, timeoutSeconds=10, responseTimeoutSeconds=5, timeoutPolicy="ALERT_ONLY")
    task = hold(harness)
    received = harness.clock()
    for _ in range(4):  # notices at 4, 8, 12 and 16 s: the response timeout never passes
        harness.clock.advance(4)
        notice(harness, task, received)
    harness.runtime.queues.wake_workflows([workflow_id], DeciderReason.SWEEP)
    harness.pump()

    assert statuses(harness, workflow_id) == ["IN_PROGRESS"]

    report(harness, task, "COMPLETED", received, outputData={"done": True})
    workflow = execution(harness, workflow_id)
    assert workflow["status"] == "COMPLETED"
    assert workflow["tasks"][0]["outputData"] == {"done": True}


def test_the_response_timeout_expires_once_heartbeats_stop(harness: Harness):
    workflow_id = start(harness, responseTimeoutSeconds=5)  # no timeoutSeconds: only the response timeout
    task = hold(harness)
    received = harness.clock()
    harness.clock.advance(2)
    notice(harness, task, received)
    harness.clock.advance(4)
    notice(harness, task, received)  # the last heartbeat: the worker hangs for good, or died

    harness.clock.advance(4)
    wake_due(harness)
    assert statuses(harness, workflow_id) == ["IN_PROGRESS"]
    harness.clock.advance(1)  # 5 s after the last heartbeat
    wake_due(harness)

    workflow = execution(harness, workflow_id)
    [timed_out] = workflow["tasks"]
    assert timed_out["status"] == "TIMED_OUT"
    assert timed_out["reasonForIncompletion"].startswith("responseTimeout: 5 exceeded")
    assert workflow["status"] == "TIMED_OUT"


def test_a_duplicate_notice_changes_nothing(harness: Harness):
    workflow_id = start(harness, timeoutSeconds=10, responseTimeoutSeconds=5)
    task = hold(harness)
    received = harness.clock()
    harness.clock.advance(2)
    assert apply_notice(harness, task, received).applied == Applied.STARTED
    before = attempts(harness, workflow_id)

    again = apply_notice(harness, task, received)  # SQS delivers at least once

    assert not again.wakes_decider
    assert attempts(harness, workflow_id) == before


def test_a_start_notice_from_a_worker_whose_clock_is_behind_starts_the_attempt(harness: Harness):
    workflow_id = start(harness, timeoutSeconds=10, responseTimeoutSeconds=5)
    task = hold(harness)
    received = harness.clock() - 3_000  # by the worker's clock: before the engine scheduled the task
    harness.clock.advance(2)

    assert apply_notice(harness, task, received).applied == Applied.STARTED
    [started] = attempts(harness, workflow_id)
    assert (started["status"], started["startTime"]) == ("IN_PROGRESS", received)


def test_a_notice_of_a_delivery_an_in_progress_result_requeued_changes_nothing(harness: Harness):
    workflow_id = start(harness, timeoutSeconds=60, responseTimeoutSeconds=5)
    task = hold(harness)
    received = harness.clock()
    harness.clock.advance(2)
    # the worker answered "call me again in 30 s"; its notice, sent just before, arrives after that answer
    report(harness, task, "IN_PROGRESS", received, callbackAfterSeconds=30)
    [requeued] = attempts(harness, workflow_id)
    assert requeued["status"] == "SCHEDULED"

    late = apply_notice(harness, task, received)

    assert (late.applied, late.wakes_decider) == (Applied.IGNORED, False)
    assert attempts(harness, workflow_id) == [requeued]
    # the next delivery's own notice starts the attempt
    harness.clock.advance(30)
    again = harness.clock()
    harness.clock.advance(1)
    assert apply_notice(harness, task, again).applied == Applied.STARTED
    [started] = attempts(harness, workflow_id)
    assert (started["status"], started["startTime"]) == ("IN_PROGRESS", received)  # the first start stays
    assert started["callbackAfterSeconds"] == 0


def test_a_notice_after_the_result_changes_nothing(harness: Harness):
    workflow_id = start(harness, responseTimeoutSeconds=5)
    task = hold(harness)
    received = harness.clock()
    report(harness, task, "COMPLETED", received)
    before = execution(harness, workflow_id)
    assert before["status"] == "COMPLETED"

    late = apply_notice(harness, task, received)

    assert (late.applied, late.wakes_decider) == (Applied.IGNORED, False)
    assert execution(harness, workflow_id) == before


def test_a_timed_out_attempt_ignores_its_hung_workers_notices_and_late_result(harness: Harness):
    workflow_id = start(harness, **RETRIED, timeoutPolicy="RETRY")
    task, received = run_until_timed_out(harness, workflow_id)
    before = attempts(harness, workflow_id)

    heartbeat = apply_notice(harness, task, received)
    assert (heartbeat.applied, heartbeat.task.status) == (Applied.IGNORED, TaskStatus.TIMED_OUT)
    assert not heartbeat.wakes_decider
    harness.clock.advance(60)
    report(harness, task, "COMPLETED", received, outputData={"late": True})

    assert attempts(harness, workflow_id) == before
    assert execution(harness, workflow_id)["status"] == "RUNNING"


class Calls:
    """The engine's DynamoDB calls and its sends to the timer queue, by operation name."""

    def __init__(self, harness: Harness) -> None:
        self.dynamodb: list[str] = []
        self.timers = 0
        self._timer_queue = harness.queue_url("TimerQueue")
        harness.runtime.executions._client.meta.events.register(
            "before-parameter-build.dynamodb", self._record
        )
        harness.runtime.sqs.meta.events.register("before-parameter-build.sqs", self._send)

    def _record(self, event_name: str, **_: Any) -> None:
        self.dynamodb.append(event_name.split(".")[-1])

    def _send(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        sends = event_name.endswith((".SendMessage", ".SendMessageBatch"))
        if sends and params["QueueUrl"] == self._timer_queue:
            self.timers += len(params.get("Entries", [params]))

    def clear(self) -> None:
        self.dynamodb.clear()
        self.timers = 0


def test_what_a_start_notice_a_heartbeat_and_the_result_after_them_cost(harness: Harness):
    workflow_id = start(harness, responseTimeoutSeconds=5)
    task = hold(harness)
    received = harness.clock()
    calls = Calls(harness)

    # the start notice: the task has no item yet (held in its workflow's header): two reads, and the write
    # that creates its item; then a heartbeat: a read and a write. A timer each.
    for expected in (["GetItem", "GetItem", "PutItem"], ["GetItem", "UpdateItem"]):
        calls.clear()
        harness.clock.advance(2)
        assert not apply_notice(harness, task, received).wakes_decider
        assert (calls.dynamodb, calls.timers) == (expected, 1)

    calls.clear()
    result = ResultMessage(
        workflowInstanceId=workflow_id, taskId=task["taskId"], status="COMPLETED", startTime=received
    )
    outcome = apply_result(harness.runtime, result)

    assert outcome.applied == Applied.FINISHED
    # the write guesses an attempt never started (as most are): the guess fails, the second write applies
    assert calls.dynamodb == ["UpdateItem", "UpdateItem"]
    assert (outcome.task.start_time, outcome.task.poll_count) == (received, 1)


class SdkWorker:
    """The SDK runtime as a worker process runs it, on the stack's queues and fake clock.

    Its threads run for real (long polls of 1 s), but for the lease keeper's, stopped as soon as started:
    the test plays it, calling ``send_notices()`` after moving the fake clock, so who sends a notice, and
    when, never depends on thread timing. (Its leases are not renewed then: the test ends well within one.)
    """

    def __init__(self, harness: Harness, fn: Any) -> None:
        self.harness = harness
        self.results_url = harness.queue_url("ResultsQueue")
        self.sent: list[list[dict[str, Any]]] = []
        self._sent = threading.Condition()
        settings = WorkerSettings(
            harness.runtime.settings.queue_prefix,
            results_queue_url=self.results_url,
            region="us-east-1",
            worker_id=WORKER,
        )
        events = harness.runtime.sqs.meta.events
        events.register("before-parameter-build.sqs.SendMessageBatch", self._outgoing)
        events.register("after-call.sqs.SendMessageBatch", self._record)
        self.runner = WorkerRunner(
            [Worker("hang", fn, lease_seconds=60, wait_seconds=1)],
            settings=settings,
            sqs_client=harness.runtime.sqs,
            now_ms=harness.clock,
        )

    def _outgoing(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if params["QueueUrl"] == self.results_url:
            context["results"] = [json.loads(entry["MessageBody"]) for entry in params["Entries"]]

    def _record(self, context: dict[str, Any], **_: Any) -> None:
        """After the call: what it sent is on the queue for ``pump()``."""
        if "results" in context:
            with self._sent:
                self.sent.append(context["results"])
                self._sent.notify_all()

    def wait_sent(self, count: int) -> list[dict[str, Any]]:
        """Wait (at most 10 s) until ``count`` batches went to the results queue; the messages sent."""
        with self._sent:
            assert self._sent.wait_for(lambda: len(self.sent) >= count, 10), self.sent
            return [body for batch in self.sent for body in batch]

    def start(self) -> None:
        self.runner.start()
        self.runner._leases.stop()

    def send_notices(self) -> int:
        return self.runner._leases.send_notices()

    def close(self) -> None:
        self.runner.stop(grace_seconds=10)
        events = self.harness.runtime.sqs.meta.events
        events.unregister("before-parameter-build.sqs.SendMessageBatch", self._outgoing)
        events.unregister("after-call.sqs.SendMessageBatch", self._record)


@pytest.fixture
def sdk_worker(harness: Harness) -> Iterator[Any]:
    workers: list[SdkWorker] = []

    def make(fn: Any) -> SdkWorker:
        workers.append(SdkWorker(harness, fn))
        return workers[-1]

    yield make
    for worker in workers:
        worker.close()


def test_the_sdk_runtime_reports_a_hung_task_which_then_times_out(harness: Harness, sdk_worker: Any):
    # the retry waits 10 minutes: this worker, free again once its hung function returns, does not take it
    workflow_id = start(
        harness,
        retryCount=1,
        retryDelaySeconds=600,
        timeoutSeconds=60,
        responseTimeoutSeconds=30,
        timeoutPolicy="RETRY",
    )
    received, running, release = harness.clock(), threading.Event(), threading.Event()

    def hangs() -> dict[str, Any]:
        running.set()
        release.wait(30)
        return {"late": True}

    worker = sdk_worker(hangs)
    worker.start()
    assert running.wait(10)
    assert worker.send_notices() == 0  # nothing due yet

    harness.clock.advance(20)  # the renewal interval (lease 60 s / 3), before 0.8 x 30 s
    assert worker.send_notices() == 1
    [start_notice] = worker.wait_sent(1)
    assert start_notice == {
        "workflowInstanceId": workflow_id,
        "taskId": start_notice["taskId"],
        "status": "IN_PROGRESS",
        "outputData": {},
        "callbackAfterSeconds": 0,
        "workerId": WORKER,
        "logs": [],
        "extendLease": True,
        "startTime": received,
    }
    harness.pump()
    [started] = attempts(harness, workflow_id)
    assert (started["status"], started["startTime"]) == ("IN_PROGRESS", received)

    harness.clock.advance(23)
    assert worker.send_notices() == 0
    harness.clock.advance(1)  # 0.8 x 30 s after the start notice
    assert worker.send_notices() == 1
    worker.wait_sent(2)
    harness.pump()
    assert attempts(harness, workflow_id)[0]["updateTime"] == harness.clock()

    harness.clock.advance(16)  # 60 s after the worker received the task
    wake_due(harness)
    first, retry = attempts(harness, workflow_id)
    assert (first["status"], retry["status"]) == ("TIMED_OUT", "SCHEDULED")

    release.set()  # the hung function returns at last: its result changes nothing
    sent = worker.wait_sent(3)
    assert [m["status"] for m in sent] == ["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]
    harness.pump()
    assert attempts(harness, workflow_id) == [first, retry]


def test_a_task_that_ends_before_its_start_notice_sends_only_its_result(harness: Harness, sdk_worker: Any):
    workflow_id = start(harness, responseTimeoutSeconds=30)
    sending, send = threading.Event(), threading.Event()
    results_url = harness.queue_url("ResultsQueue")

    def quick() -> dict[str, Any]:
        harness.clock.advance(19)  # a second short of the start notice
        return {"quick": True}

    def held_back(params: dict[str, Any], **_: Any) -> None:
        if params["QueueUrl"] == results_url:
            sending.set()
            send.wait(10)

    worker = sdk_worker(quick)
    harness.runtime.sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", held_back)
    worker.start()
    try:
        assert sending.wait(10)  # the function returned; its result goes out, its message is still held
        harness.clock.advance(60)
        assert (len(worker.runner._leases.held()), worker.send_notices()) == (1, 0)
    finally:
        send.set()
        harness.runtime.sqs.meta.events.unregister("before-parameter-build.sqs.SendMessageBatch", held_back)

    [result] = worker.wait_sent(1)
    assert result["status"] == "COMPLETED"
    harness.pump()
    assert execution(harness, workflow_id)["status"] == "COMPLETED"
    assert len(worker.sent) == 1
