"""A worker is a task type bound to a function, with how many of its tasks may run at once.

``@worker_task`` registers one in a process-wide registry, which :func:`batonflow.sdk.run_workers` uses
when it is given no workers explicitly (as conductor-python's ``scan_for_annotated_workers`` does).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from batonflow.sdk.execution import Invoke, bind

if TYPE_CHECKING:
    from batonflow.sdk.runner import WorkerRunner
    from batonflow.sdk.settings import WorkerSettings

log = logging.getLogger(__name__)

MAX_VISIBILITY_SECONDS = 43_200  # SQS: 12 hours

F = TypeVar("F", bound=Callable[..., Any])


class Worker:
    """Runs ``fn`` for every task of ``task_type``.

    ``concurrency`` tasks run at once, each in its own thread. ``lease_seconds`` is how long a received
    message stays invisible to other workers; while the task runs, the lease is renewed every third of it,
    so it bounds how soon the task of a *dead* worker is handed out again, not how long a task may run.
    ``wait_seconds`` is the SQS long-poll wait (at most 20).
    """

    def __init__(
        self,
        task_type: str,
        fn: Callable[..., Any],
        concurrency: int = 1,
        *,
        lease_seconds: int = 60,
        wait_seconds: int = 20,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if not 3 <= lease_seconds <= MAX_VISIBILITY_SECONDS:
            raise ValueError(
                f"lease_seconds must be between 3 and 43200 (SQS visibility), got {lease_seconds}"
            )
        if not 0 <= wait_seconds <= 20:
            raise ValueError(f"wait_seconds must be between 0 and 20 (SQS long poll), got {wait_seconds}")
        self.task_type = task_type
        self.fn = fn
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.invoke: Invoke = bind(fn)
        self._runner: WorkerRunner | None = None

    def start(self, settings: WorkerSettings | None = None, **runner_options: Any) -> WorkerRunner:
        """Run this worker alone in background threads; ``stop()`` ends it. Returns the runner."""
        from batonflow.sdk.runner import WorkerRunner

        if self._runner is not None:
            raise RuntimeError(f"worker {self.task_type!r} is already started")
        self._runner = WorkerRunner([self], settings=settings, **runner_options)
        self._runner.start()
        return self._runner

    def stop(self, grace_seconds: float | None = None) -> None:
        if self._runner is not None:
            self._runner.stop(grace_seconds)
            self._runner = None

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", self.fn)
        return f"Worker({self.task_type!r}, {name!r}, {self.concurrency})"


_registry: dict[str, Worker] = {}
_registry_lock = threading.Lock()


def worker_task(
    task_type: str, *, concurrency: int = 1, lease_seconds: int = 60, wait_seconds: int = 20
) -> Callable[[F], F]:
    """Register the decorated function as the worker for ``task_type``; the function itself is unchanged."""

    def register(fn: F) -> F:
        worker = Worker(task_type, fn, concurrency, lease_seconds=lease_seconds, wait_seconds=wait_seconds)
        with _registry_lock:
            previous = _registry.get(task_type)
            if previous is not None and previous.fn is not fn:
                log.warning("worker for %r replaced: %r -> %r", task_type, previous.fn, fn)
            _registry[task_type] = worker
        return fn

    return register


def registered_workers() -> list[Worker]:
    with _registry_lock:
        return list(_registry.values())


def unregister_all() -> None:
    """Forget every ``@worker_task`` registration (for tests and reloads)."""
    with _registry_lock:
        _registry.clear()
