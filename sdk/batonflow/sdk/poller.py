"""The receive loop of one worker: one thread long-polls the task type's queue and feeds a thread pool.

It asks for at most as many messages as it has free threads (``min(10, free)``) and waits on a condition,
not on SQS, while all threads are busy: a received message is always started at once, so its lease is never
spent waiting in a local queue.

Large payloads (``batonflow.store.payloads``): a task message whose input the engine stored in S3 carries
a reference, which the task thread resolves before calling the function; an output over the threshold is
uploaded (content-addressed, so a retried upload writes the same object) and the result carries its
reference. An output over the 10 MB hard limit fails the task with FAILED_WITH_TERMINAL_ERROR. An S3 call
that fails leaves the task unreported: its lease is released, and the redelivery is reported TIMED_OUT.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from batonflow.errors import PayloadTooLargeError
from batonflow.model.wire import TASK_QUEUE_ATTRIBUTES, ResultMessage, TaskMessage, task_queue_name
from batonflow.sdk.context import TaskContext
from batonflow.sdk.execution import (
    FAILED,
    FAILED_WITH_TERMINAL_ERROR,
    encode_result,
    failed_result,
    lease_expired_result,
    replace_result,
    run_task,
)
from batonflow.sdk.lease import Lease, LeaseKeeper, Progress
from batonflow.sdk.reporter import Outgoing, Reporter
from batonflow.sdk.sqs import MAX_BATCH, log_call_failure
from batonflow.sdk.worker import Worker
from batonflow.store.payloads import MAX_PAYLOAD_BYTES, Payloads, is_reference

log = logging.getLogger(__name__)


class TaskPool:
    """A fixed set of daemon threads.

    Not ``ThreadPoolExecutor``: it joins its threads at interpreter exit, so one task that never returns
    would keep a stopped worker process alive forever. These threads are abandoned after the grace period.
    """

    def __init__(self, size: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(size)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def shutdown(self, timeout: float) -> None:
        """Let idle threads end; wait up to ``timeout`` seconds for busy ones."""
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:
                log.exception("unexpected error in a task thread")


class Poller:
    def __init__(
        self,
        worker: Worker,
        *,
        sqs: Any,
        queue_prefix: str,
        worker_id: str,
        reporter: Reporter,
        leases: LeaseKeeper,
        stopping: threading.Event,
        now_ms: Callable[[], int],
        max_result_bytes: int,
        delay: Callable[[int], float],
        payloads: Payloads | None = None,
    ) -> None:
        self.worker = worker
        self.queue_name = task_queue_name(queue_prefix, worker.task_type)
        self._sqs = sqs
        self._worker_id = worker_id
        self._reporter = reporter
        self._leases = leases
        self._stopping = stopping
        self._now_ms = now_ms
        self._max_result_bytes = max_result_bytes
        self._delay = delay
        self._payloads = payloads
        self._slots = threading.Condition()
        self._busy = 0
        self._failures = 0
        self._pool = TaskPool(worker.concurrency, name=f"baton-sdk-task-{worker.task_type}")
        self._thread = threading.Thread(
            target=self._run, name=f"baton-sdk-poll-{worker.task_type}", daemon=True
        )

    def start(self) -> None:
        self._pool.start()
        self._thread.start()

    def wake(self) -> None:
        """Make a loop waiting for a free thread notice that ``stopping`` is set."""
        with self._slots:
            self._slots.notify_all()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def shutdown_pool(self, timeout: float) -> None:
        self._pool.shutdown(timeout)

    def _run(self) -> None:
        queue_url = self._resolve_queue()
        while queue_url is not None and (count := self._free_slots()):
            try:
                response = self._sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=count,
                    WaitTimeSeconds=self.worker.wait_seconds,
                    VisibilityTimeout=self.worker.lease_seconds,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                )
            except Exception as exc:
                if self._failed(f"receive from {self.queue_name}", exc):
                    return
                continue
            self._failures = 0
            received_at = self._now_ms()
            for message in response.get("Messages", []):
                self._accept(queue_url, message, received_at)

    def _resolve_queue(self) -> str | None:
        """The queue's URL, creating the queue if the engine has not yet (it creates it idempotently too)."""
        while not self._stopping.is_set():
            try:
                return self._queue_url()
            except Exception as exc:
                if self._failed(f"find queue {self.queue_name}", exc):
                    return None
        return None

    def _queue_url(self) -> str:
        try:
            return str(self._sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"])
        except self._sqs.exceptions.QueueDoesNotExist:
            pass
        try:
            return str(
                self._sqs.create_queue(QueueName=self.queue_name, Attributes=TASK_QUEUE_ATTRIBUTES)[
                    "QueueUrl"
                ]
            )
        except ClientError:
            # Created meanwhile with other attributes (CreateQueue only matches identical ones): use it.
            return str(self._sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"])

    def _failed(self, what: str, exc: Exception) -> bool:
        """Log and back off; True if stopping was requested meanwhile."""
        self._failures += 1
        delay = self._delay(self._failures)
        log_call_failure(log, "could not %s (trying again in %.0f s)", what, delay, exc=exc)
        return self._stopping.wait(delay)

    def _free_slots(self) -> int:
        """Block until a thread is free; how many messages to ask for, or 0 when stopping."""
        with self._slots:
            self._slots.wait_for(lambda: self._busy < self.worker.concurrency or self._stopping.is_set())
            if self._stopping.is_set():
                return 0
            return min(MAX_BATCH, self.worker.concurrency - self._busy)

    def _accept(self, queue_url: str, message: dict[str, Any], received_at: int) -> None:
        lease = Lease(queue_url, message["ReceiptHandle"], self.worker.lease_seconds, message["MessageId"])
        self._leases.hold(lease)
        try:
            task = TaskMessage.model_validate_json(message["Body"])
        except ValidationError as exc:
            log.error("deleting malformed message %s from %s: %s", lease.message_id, self.queue_name, exc)
            self._reporter.put(Outgoing(lease, None))
            return
        if int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) > 1:
            log.warning(
                "task %s of workflow %s delivered again: an earlier worker lost its lease; "
                "reporting TIMED_OUT instead of running it",
                task.task_id,
                task.workflow_instance_id,
            )
            result = lease_expired_result(
                task.workflow_instance_id,
                task.task_id,
                worker_id=self._worker_id,
                start_time=received_at,
                attempt=task.attempt,
            )
            self._reporter.put(Outgoing(lease, encode_result(result, max_bytes=self._max_result_bytes)))
            return
        with self._slots:
            self._busy += 1
        self._reporter.task_started()
        progress = Progress(
            task.workflow_instance_id,
            task.task_id,
            self._worker_id,
            received_at,
            task.response_timeout_seconds,
        )
        self._leases.track(lease, progress)
        self._pool.submit(lambda: self._execute(task, lease, received_at))

    def _resolved(self, task: TaskMessage) -> TaskMessage:
        if self._payloads is None or not is_reference(task.input_data):
            return task
        return task.model_copy(update={"input_data": self._payloads.resolve(task.input_data)})

    def _offloaded(self, result: ResultMessage) -> ResultMessage:
        """The result with an output over the threshold uploaded and replaced by its reference."""
        if self._payloads is None or not result.output_data:
            return result
        try:
            output = self._payloads.offload(
                result.output_data, result.workflow_instance_id, limit=MAX_PAYLOAD_BYTES
            )
        except PayloadTooLargeError as exc:
            return replace_result(result, FAILED_WITH_TERMINAL_ERROR, f"task output rejected: {exc.message}")
        except (TypeError, ValueError):
            return result  # not plain JSON: encode_result says so, or pydantic serialises it
        return result if output is result.output_data else result.model_copy(update={"output_data": output})

    def _execute(self, task: TaskMessage, lease: Lease, received_at: int) -> None:
        item = None
        try:
            if is_reference(task.input_data) and self._payloads is None:
                ctx = TaskContext(task, worker_id=self._worker_id, now_ms=self._now_ms)
                reason = "the task input is in the payload bucket, and this worker has no bucket set"
                result = failed_result(ctx, FAILED, reason, start_time=received_at)
            else:
                ctx = TaskContext(self._resolved(task), worker_id=self._worker_id, now_ms=self._now_ms)
                result = self._offloaded(run_task(self.worker.invoke, ctx, start_time=received_at))
            item = Outgoing(lease, encode_result(result, max_bytes=self._max_result_bytes))
        finally:
            self._leases.untrack(lease)
            if item is None:
                self._leases.release(lease)
            with self._slots:
                self._busy -= 1
                self._slots.notify_all()
            self._reporter.task_finished(item)
