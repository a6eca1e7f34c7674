"""The SQS-native worker runtime against moto: task messages in, result messages out, leases, stopping.

Every test runs real runner threads on an in-process moto SQS. Waits are on events and long polls
(``wait_seconds=1``), never on sleeps; the receive time is an injected clock so ``startTime`` is exact.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from batonflow.model.wire import TaskMessage, task_queue_name
from batonflow.sdk import (
    NonRetryableError,
    TaskContext,
    TaskInProgress,
    Worker,
    WorkerRunner,
    WorkerSettings,
    run_workers,
)
from batonflow.sdk.execution import LEASE_EXPIRED_REASON
from batonflow.sdk.lease import Lease, LeaseKeeper
from batonflow.sdk.settings import make_sqs_client

PREFIX = "baton-test-"
RECEIVED_AT = 1_750_000_000_000
WORKER_ID = "test-worker"


class Stack:
    """Queues on moto, a harness client for the test's own calls and a counted client for the runtime."""

    def __init__(self) -> None:
        self.sqs = make_sqs_client(WorkerSettings(PREFIX, region="us-east-1"))
        self.results_url = self.sqs.create_queue(QueueName=f"{PREFIX}results")["QueueUrl"]
        self.settings = WorkerSettings(
            PREFIX, results_queue_url=self.results_url, region="us-east-1", worker_id=WORKER_ID
        )
        self.worker_sqs = make_sqs_client(self.settings)
        self.calls: Counter[str] = Counter()
        self.worker_sqs.meta.events.register("before-call.sqs.*", self._count)
        self.runners: list[WorkerRunner] = []

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def task_queue(self, task_type: str) -> str:
        return self.sqs.create_queue(QueueName=task_queue_name(PREFIX, task_type))["QueueUrl"]

    def send_task(self, task_type: str, task_id: str, **input_data: Any) -> str:
        queue_url = self.task_queue(task_type)
        body = TaskMessage(
            workflow_instance_id="wf-1",
            task_id=task_id,
            task_type=task_type,
            task_def_name=task_type,
            reference_task_name=f"{task_type}_ref",
            input_data=input_data,
        ).to_json()
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        return queue_url

    def runner(self, *workers: Worker, **options: Any) -> WorkerRunner:
        options.setdefault("delay", lambda failures: 0.0)
        runner = WorkerRunner(
            workers, settings=self.settings, sqs_client=self.worker_sqs, now_ms=lambda: RECEIVED_AT, **options
        )
        self.runners.append(runner)
        runner.start()
        return runner

    def results(self, count: int) -> dict[str, dict[str, Any]]:
        """Wait (long polls, at most ~10 s) for ``count`` results; returns them by task id."""
        found: dict[str, dict[str, Any]] = {}
        for _ in range(10):
            response = self.sqs.receive_message(
                QueueUrl=self.results_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in response.get("Messages", []):
                body = json.loads(message["Body"])
                found[body["taskId"]] = body
                self.sqs.delete_message(QueueUrl=self.results_url, ReceiptHandle=message["ReceiptHandle"])
            if len(found) >= count:
                break
        return found

    def depth(self, queue_url: str) -> tuple[int, int]:
        """(visible, in flight) messages on a queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )


def baton_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("baton-sdk-")]


def assert_all_threads_end() -> None:
    for thread in baton_threads():
        thread.join(5)
    assert baton_threads() == []


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        test_stack = Stack()
        yield test_stack
        for runner in test_stack.runners:
            runner.stop(grace_seconds=5)


def work(mode: str, ctx: TaskContext, name: str | None = None) -> Any:
    ctx.log(f"mode {mode}")
    if mode == "fail":
        raise RuntimeError("boom")
    if mode == "terminal":
        raise NonRetryableError("never")
    if mode == "later":
        return TaskInProgress(callback_after_seconds=15, output={"step": 1})
    return {"greeting": f"Hello {name}"}


def test_tasks_are_run_reported_and_then_deleted(stack: Stack) -> None:
    queue_url = stack.send_task("greet", "t-ok", mode="ok", name="Ada")
    for mode in ("fail", "terminal", "later"):
        stack.send_task("greet", f"t-{mode}", mode=mode)
    runner = stack.runner(Worker("greet", work, concurrency=2, wait_seconds=1))

    results = stack.results(4)
    runner.stop()

    assert results["t-ok"] == {
        "workflowInstanceId": "wf-1",
        "taskId": "t-ok",
        "status": "COMPLETED",
        "outputData": {"greeting": "Hello Ada"},
        "callbackAfterSeconds": 0,
        "workerId": WORKER_ID,
        "logs": [{"log": "mode ok", "taskId": "t-ok", "createdTime": RECEIVED_AT}],
        "extendLease": False,
        "startTime": RECEIVED_AT,
    }
    outcomes = {task_id: (r["status"], r.get("reasonForIncompletion")) for task_id, r in results.items()}
    assert outcomes == {
        "t-ok": ("COMPLETED", None),
        "t-fail": ("FAILED", "boom"),
        "t-terminal": ("FAILED_WITH_TERMINAL_ERROR", "never"),
        "t-later": ("IN_PROGRESS", None),
    }
    assert (results["t-later"]["callbackAfterSeconds"], results["t-later"]["outputData"]) == (15, {"step": 1})
    assert stack.depth(queue_url) == (0, 0)
    assert_all_threads_end()


def test_concurrency_runs_that_many_tasks_at_once_and_no_more(stack: Stack) -> None:
    together = threading.Barrier(2, timeout=10)  # breaks (and fails the tasks) unless two run at once
    lock = threading.Lock()
    running = {"now": 0, "max": 0}

    def paired() -> dict:
        with lock:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
        together.wait()
        with lock:
            running["now"] -= 1
        return {}

    asked: list[int] = []
    stack.worker_sqs.meta.events.register(
        "before-parameter-build.sqs.ReceiveMessage",
        lambda params, **_: asked.append(params["MaxNumberOfMessages"]),
    )
    for n in range(4):
        stack.send_task("pair", f"t-{n}")
    runner = stack.runner(Worker("pair", paired, concurrency=2, wait_seconds=1))

    results = stack.results(4)
    runner.stop()

    assert {r["status"] for r in results.values()} == {"COMPLETED"}
    assert len(results) == 4
    assert running["max"] == 2
    assert max(asked) == 2


def test_a_redelivered_message_is_reported_timed_out_and_not_run(stack: Stack) -> None:
    queue_url = stack.send_task("greet", "t-lost", mode="ok")
    # An earlier worker received it and never finished: its lease ran out (visibility 0 here).
    stack.sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)
    calls: list[str] = []
    runner = stack.runner(Worker("greet", lambda mode: calls.append(mode), wait_seconds=1))

    results = stack.results(1)
    runner.stop()

    assert calls == []
    assert results["t-lost"]["status"] == "TIMED_OUT"
    assert results["t-lost"]["reasonForIncompletion"] == LEASE_EXPIRED_REASON
    assert (results["t-lost"]["workerId"], results["t-lost"]["startTime"]) == (WORKER_ID, RECEIVED_AT)
    assert stack.depth(queue_url) == (0, 0)


def test_malformed_messages_are_deleted_and_polling_goes_on(stack: Stack) -> None:
    queue_url = stack.task_queue("greet")
    stack.sqs.send_message(QueueUrl=queue_url, MessageBody="not json")
    stack.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"taskId": "no workflow id"}))
    stack.send_task("greet", "t-good", mode="ok", name="Ada")
    runner = stack.runner(Worker("greet", work, wait_seconds=1))

    results = stack.results(1)
    runner.stop()

    assert list(results) == ["t-good"]
    assert stack.depth(queue_url) == (0, 0)


def test_a_worker_creates_its_queue_if_the_engine_has_not_yet(stack: Stack) -> None:
    worker = Worker("brand-new", lambda: {"ok": True}, wait_seconds=1)
    started = threading.Event()
    stack.worker_sqs.meta.events.register("after-call.sqs.CreateQueue", lambda **_: started.set())
    worker.start(settings=stack.settings, sqs_client=stack.worker_sqs)
    assert started.wait(10)

    stack.send_task("brand-new", "t-1")
    results = stack.results(1)
    worker.stop()

    assert results["t-1"]["outputData"] == {"ok": True}
    assert_all_threads_end()


def test_receive_errors_back_off_and_polling_recovers(stack: Stack) -> None:
    failures = iter([True, True])

    def flaky(**_: Any) -> None:
        if next(failures, False):
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "ReceiveMessage")

    stack.worker_sqs.meta.events.register("before-call.sqs.ReceiveMessage", flaky)
    delays: list[int] = []
    stack.send_task("greet", "t-1", mode="ok", name="Ada")
    runner = stack.runner(
        Worker("greet", work, wait_seconds=1), delay=lambda failures: delays.append(failures) or 0.0
    )

    results = stack.results(1)
    runner.stop()

    assert results["t-1"]["status"] == "COMPLETED"
    assert delays == [1, 2]


def test_leases_are_renewed_while_a_task_runs(stack: Stack) -> None:
    renewed = threading.Event()
    stack.worker_sqs.meta.events.register(
        "after-call.sqs.ChangeMessageVisibilityBatch",
        lambda parsed, **_: parsed.get("Successful") and renewed.set(),
    )
    queue_url = stack.send_task("slow", "t-1")
    # lease 3 s: renewed every second; the task ends only once a renewal went through
    runner = stack.runner(
        Worker("slow", lambda: {"renewed": renewed.wait(10)}, lease_seconds=3, wait_seconds=1)
    )

    results = stack.results(1)
    runner.stop()

    assert results["t-1"]["outputData"] == {"renewed": True}
    assert stack.depth(queue_url) == (0, 0)


def test_lease_keeper_renews_held_messages_and_shrugs_off_deleted_ones(stack: Stack) -> None:
    queue_url = stack.send_task("greet", "t-1")
    [message] = stack.sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=5)["Messages"]
    leases = LeaseKeeper(stack.worker_sqs, interval_seconds=20)
    lease = Lease(queue_url, message["ReceiptHandle"], 60, message["MessageId"])
    leases.hold(lease)

    assert leases.beat() == 1
    stack.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    leases.release(lease)
    assert leases.beat() == 0
    assert stack.calls["ChangeMessageVisibilityBatch"] == 1  # nothing held, nothing called


def test_sqs_calls_per_task(stack: Stack) -> None:
    tasks = 10
    together = threading.Barrier(tasks, timeout=10)
    for n in range(tasks):
        stack.send_task("batch", f"t-{n}")
    # flush_seconds is raised from 10 ms so a slow CI machine cannot split the batch: what is measured is
    # that the reporter waits for tasks still running and flushes as soon as none is.
    runner = stack.runner(
        Worker("batch", lambda: {"waited": together.wait() >= 0}, concurrency=tasks, wait_seconds=1),
        flush_seconds=2.0,
    )
    results = stack.results(tasks)
    runner.stop()

    assert {r["status"] for r in results.values()} == {"COMPLETED"}
    calls = dict(stack.calls)
    # One receive brings all ten, one batch reports them, one deletes them. The rest are one-off
    # GetQueueUrl and the trailing empty long polls that let the poller notice the stop.
    assert calls["SendMessageBatch"] == 1
    assert calls["DeleteMessageBatch"] == 1
    assert calls["GetQueueUrl"] == 1
    assert calls["ReceiveMessage"] <= 4
    assert "ChangeMessageVisibilityBatch" not in calls


def test_sqs_calls_for_one_task_at_a_time(stack: Stack) -> None:
    stack.send_task("one", "t-1")
    runner = stack.runner(Worker("one", lambda: {}, wait_seconds=1))
    stack.results(1)
    runner.stop()

    calls = dict(stack.calls)
    assert (calls["SendMessageBatch"], calls["DeleteMessageBatch"]) == (1, 1)


def test_stop_abandons_a_task_still_running_after_the_grace_period(stack: Stack) -> None:
    started, release = threading.Event(), threading.Event()

    def stuck() -> dict:
        started.set()
        release.wait(10)
        return {}

    queue_url = stack.send_task("stuck", "t-1")
    runner = stack.runner(Worker("stuck", stuck, wait_seconds=1))
    assert started.wait(10)

    runner.stop(grace_seconds=0)

    assert stack.depth(queue_url) == (0, 1)  # still leased: it reappears after the lease, as TIMED_OUT
    assert stack.results(0) == {}
    release.set()
    assert_all_threads_end()


def test_run_workers_stops_cleanly_on_sigterm(stack: Stack) -> None:
    def stop_me() -> dict:
        os.kill(os.getpid(), signal.SIGTERM)
        return {"stopped": "after this"}

    queue_url = stack.send_task("sig", "t-1")
    before = signal.getsignal(signal.SIGTERM)

    run_workers(
        Worker("sig", stop_me, wait_seconds=1),
        queue_prefix=PREFIX,
        results_queue_url=stack.results_url,
        region="us-east-1",
        sqs_client=stack.worker_sqs,
        grace_seconds=10,
    )

    assert stack.results(1)["t-1"]["outputData"] == {"stopped": "after this"}
    assert stack.depth(queue_url) == (0, 0)
    assert signal.getsignal(signal.SIGTERM) is before
    assert_all_threads_end()


def test_runner_run_without_signal_handlers_stops_on_request(stack: Stack) -> None:
    runner = WorkerRunner(
        [Worker("greet", work, wait_seconds=1)], settings=stack.settings, sqs_client=stack.worker_sqs
    )
    thread = threading.Thread(target=runner.run, kwargs={"install_signal_handlers": False})
    thread.start()
    runner.request_stop()
    thread.join(10)

    assert not thread.is_alive()
    assert_all_threads_end()
