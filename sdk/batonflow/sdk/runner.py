"""The SQS-native worker runtime: workers take tasks from SQS and report results to SQS, no API in the path.

Contract with the engine
------------------------
A task attempt is one :class:`~batonflow.model.wire.TaskMessage` on ``<prefix>task-<type>``. A worker:

1. receives it with ``VisibilityTimeout = lease`` (default 60 s) and keeps renewing that lease every
   ``lease / 3`` while it holds the message (:mod:`batonflow.sdk.lease`);
2. runs the function and sends one :class:`~batonflow.model.wire.ResultMessage` to the results queue, with
   ``startTime`` = when it received the message and ``workerId``. The attempt stays SCHEDULED until then,
   unless the function runs long: after ``min(lease / 3, 0.8 x responseTimeoutSeconds)`` the worker
   sends a start notice, an IN_PROGRESS result with ``extendLease`` and that ``startTime``, which makes the
   attempt IN_PROGRESS since then, and a heartbeat (the same notice) every ``0.8 x
   responseTimeoutSeconds`` while the function runs, as conductor-python's lease extension does. Notices
   only send: the message stays held;
3. **then** deletes the task message (:mod:`batonflow.sdk.reporter`).

A message received a second time (``ApproximateReceiveCount >= 2``) means the worker that held it lost its
lease: it died, was cut off from SQS for longer than a lease, or crashed between steps 2 and 3. The
runtime does **not** run it again, which would be a second, unaccounted execution, possibly concurrent
with a first one still running somewhere. It reports ``status: "TIMED_OUT"`` with
``reasonForIncompletion`` = :data:`LEASE_EXPIRED_REASON`, then deletes the message. The engine applies
that report only if the attempt is still unfinished (after a crash between 2 and 3 it already has the
real result, and the late report changes nothing), and retries the task per its definition with a new
attempt, which is a new message. Consequences for the stack:

* a task queue's redrive policy, if any, needs ``maxReceiveCount >= 2``, or the second delivery that
  carries the lease-expiry report goes to the dead-letter queue instead;
* a dead worker's task is retried about one lease later, as soon as another worker of its type polls,
  far sooner than Conductor's ``responseTimeoutSeconds`` (default 3600 s) would notice; the engine keeps
  its own timeouts as the backstop (no worker left, REST workers);
* the lease is renewed for as long as the function runs, hung or not: how long a task may take is the
  engine's ``timeoutSeconds`` (from the start notice's ``startTime``) and ``responseTimeoutSeconds`` (from
  the last notice), which the notices make apply; their expiry times the attempt out (a retry is a new
  message, for another worker) and makes the hung function's late result a no-op.

Stopping (``stop()``, SIGINT, SIGTERM): polling stops; a long poll already under way is waited for (up to
``wait_seconds``) and what it brings is still run, because a message given back would come round again
as a redelivery and cost the task an attempt. Running tasks get until ``grace_seconds`` after the stop
request to finish and report; tasks still running then are abandoned (their threads are daemons): their
leases are no longer renewed, so their messages reappear and are reported TIMED_OUT. A second signal
during the grace period gets the default behaviour (``KeyboardInterrupt`` for SIGINT, exit for SIGTERM).

Rejected: running a redelivered message (at-least-once execution, see above); handing received messages
back on stop (each would come back as a redelivery); one heartbeat call per task (conductor-python's
way: ten times the calls of one batch), so notices go in the results' batches; a start notice for every
task (most end within seconds, and would pay a second message and write for nothing);
``ThreadPoolExecutor`` (it joins its threads at exit, so one hung task would keep a stopped process alive).

Cost, counted in ``tests/functional/test_sdk_worker.py``: per busy poll one ReceiveMessage for up to ten
tasks, one SendMessageBatch and one DeleteMessageBatch per ten results finishing together, one
ChangeMessageVisibilityBatch per ten running tasks every ``lease / 3``; an idle worker makes three
ReceiveMessage calls a minute. A task that runs longer than its start-notice delay adds one results
message (a SendMessageBatch entry, shared with whatever else is due) for its start, then one per heartbeat
period; the engine applies each with a GetItem, a conditional UpdateItem and a timer message, and the
task's final result takes a second UpdateItem (``tests/functional/test_sqs_worker_timeouts.py``). Large
payloads (over ``BATON_PAYLOAD_THRESHOLD``) cost one S3 GetObject per input and one PutObject per output
that size; smaller ones none (:mod:`batonflow.sdk.poller`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from batonflow.sdk.context import epoch_ms
from batonflow.sdk.execution import LEASE_EXPIRED_REASON
from batonflow.sdk.lease import Lease, LeaseKeeper
from batonflow.sdk.poller import Poller
from batonflow.sdk.reporter import Reporter
from batonflow.sdk.settings import WorkerConfigError, WorkerSettings, make_payloads, make_sqs_client
from batonflow.sdk.sqs import DEFAULT_MAX_MESSAGE_BYTES, retry_delay
from batonflow.sdk.worker import Worker, registered_workers
from batonflow.store.payloads import Payloads

__all__ = ["LEASE_EXPIRED_REASON", "WorkerRunner", "run_workers"]

log = logging.getLogger(__name__)

_FINAL_FLUSH_SECONDS = 10.0
_SIGNAL_CHECK_SECONDS = 1.0


class _StopSignal(BaseException):
    """Raised in the main thread by the signal handler, like KeyboardInterrupt, to leave ``run()``."""


class WorkerRunner:
    """Runs a set of workers sharing one SQS client, one lease-renewal thread and one result reporter.

    With no workers given, it runs every ``@worker_task`` function imported so far.
    """

    def __init__(
        self,
        workers: Iterable[Worker] | None = None,
        *,
        settings: WorkerSettings | None = None,
        sqs_client: Any = None,
        grace_seconds: float = 30.0,
        flush_seconds: float = 0.01,
        max_result_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        now_ms: Callable[[], int] = epoch_ms,
        delay: Callable[[int], float] = retry_delay,
        payloads: Payloads | None = None,
    ) -> None:
        """``payloads``: where large inputs and outputs travel; by default the settings' bucket, if any."""
        self.workers = list(workers) if workers is not None else registered_workers()
        if not self.workers:
            raise WorkerConfigError("no workers: pass Worker objects or decorate functions with @worker_task")
        types = [worker.task_type for worker in self.workers]
        if len(set(types)) != len(types):
            raise WorkerConfigError(f"one worker per task type, got {types}")
        self.settings = settings if settings is not None else WorkerSettings.from_env()
        self.grace_seconds = grace_seconds
        self._sqs = sqs_client or make_sqs_client(
            self.settings, max_pool_connections=max(10, len(self.workers) + 4)
        )
        self._results_url = self.settings.results_queue_url
        self._payloads = payloads if payloads is not None else make_payloads(self.settings)
        self._stop_requested = threading.Event()
        self._stopping = threading.Event()
        self._started = False
        self._leases = LeaseKeeper(
            self._sqs,
            interval_seconds=min(worker.lease_seconds for worker in self.workers) / 3,
            now_ms=now_ms,
            notify=self._notify,
        )
        self._reporter = Reporter(
            self._sqs,
            self._results_queue_url,
            self._leases,
            flush_seconds=flush_seconds,
            max_batch_bytes=max_result_bytes,
            delay=delay,
        )
        self._pollers = [
            Poller(
                worker,
                sqs=self._sqs,
                queue_prefix=self.settings.queue_prefix,
                worker_id=self.settings.worker_id,
                reporter=self._reporter,
                leases=self._leases,
                stopping=self._stopping,
                now_ms=now_ms,
                max_result_bytes=max_result_bytes,
                delay=delay,
                payloads=self._payloads,
            )
            for worker in self.workers
        ]

    def start(self) -> None:
        """Start polling in background threads and return."""
        if self._started:
            raise RuntimeError("a WorkerRunner can be started once")
        self._started = True
        self._leases.start()
        self._reporter.start()
        for poller in self._pollers:
            poller.start()
        log.info("polling %s as %s", ", ".join(p.queue_name for p in self._pollers), self.settings.worker_id)

    def request_stop(self) -> None:
        """Ask ``run()`` to stop; returns at once."""
        self._stop_requested.set()

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop polling, wait up to the grace period for running tasks, report their results, end threads."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._stop_requested.set()
        if not self._started:
            return
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        deadline = time.monotonic() + grace

        def remaining() -> float:
            return max(0.0, deadline - time.monotonic())

        log.info(
            "stopping: waiting up to %.0f s for %d running tasks and the current long polls",
            grace,
            self._reporter.running,
        )
        for poller in self._pollers:
            poller.wake()
        for poller in self._pollers:
            poller.join(remaining())
        if not self._reporter.wait_idle(remaining()):
            log.warning(
                "%d tasks still running after %.1f s: abandoned; they will be reported TIMED_OUT",
                self._reporter.running,
                grace,
            )
        for poller in self._pollers:
            poller.shutdown_pool(remaining())
        self._reporter.close(max(remaining(), _FINAL_FLUSH_SECONDS))
        self._leases.stop(_FINAL_FLUSH_SECONDS)
        log.info("stopped")

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Start, block until ``request_stop()`` or SIGINT/SIGTERM, then ``stop()``.

        Signal handlers can only be installed from the main thread; elsewhere (e.g. ``baton up --demo``
        running a worker in a thread) pass ``install_signal_handlers=False`` and call ``request_stop()``.
        """
        previous: dict[int, Any] = {}

        def on_signal(signum: int, frame: object) -> None:
            _restore(previous)  # a second signal during the grace period gets the default behaviour
            raise _StopSignal(signum)

        try:
            if install_signal_handlers and threading.current_thread() is threading.main_thread():
                for signum in (signal.SIGINT, signal.SIGTERM):
                    previous[signum] = signal.signal(signum, on_signal)
            self.start()
            # Timed waits: a signal delivered to another thread only runs its handler once the main thread
            # wakes, and an untimed lock wait may never wake.
            while not self._stop_requested.wait(_SIGNAL_CHECK_SECONDS):
                pass
        except _StopSignal as sig:
            log.info("%s received: stopping", signal.Signals(sig.args[0]).name)
        finally:
            _restore(previous)
            self.stop()

    def _notify(self, notices: list[tuple[Lease, str]]) -> None:
        """The lease thread's progress notices, sent by the reporter (created after the lease keeper)."""
        self._reporter.put_notices(notices)

    def _results_queue_url(self) -> str:
        """Resolved on first use, in the reporter thread, so a stack that is still starting is waited for."""
        if self._results_url is None:
            response = self._sqs.get_queue_url(QueueName=self.settings.results_queue_name)
            self._results_url = response["QueueUrl"]
        return self._results_url


def _restore(previous: dict[int, Any]) -> None:
    while previous:
        signum, handler = previous.popitem()
        signal.signal(signum, handler)


def run_workers(
    *workers: Worker,
    queue_prefix: str | None = None,
    results_queue_url: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    worker_id: str | None = None,
    sqs_client: Any = None,
    grace_seconds: float = 30.0,
    install_signal_handlers: bool = True,
) -> None:
    """Run ``workers`` (default: every ``@worker_task``) until SIGINT/SIGTERM; see the module docstring.

    Settings not given come from ``BATON_QUEUE_PREFIX`` and ``BATON_RESULTS_QUEUE_URL``; endpoint and
    region default to boto3's own resolution (``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``).
    """
    settings = WorkerSettings.from_env(
        queue_prefix=queue_prefix,
        results_queue_url=results_queue_url,
        endpoint_url=endpoint_url,
        region=region,
        worker_id=worker_id,
    )
    runner = WorkerRunner(
        workers or None, settings=settings, sqs_client=sqs_client, grace_seconds=grace_seconds
    )
    runner.run(install_signal_handlers=install_signal_handlers)
