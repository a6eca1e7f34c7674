"""Lambda execution environments as processes, so one function can serve concurrent requests.

AWS runs concurrent invocations of a function in separate sandboxes; in one process they would share
module state, and Powertools' event handler keeps the current request in class attributes, so two calls
would mix up their requests. :class:`SandboxPool` starts ``size`` processes (``spawn``, never ``fork``:
the parent runs moto's server threads), each importing the handler once under the function's environment
and running one invocation at a time. The pool is callable like a handler, so
:class:`~batonflow.emulator.lambda_runtime.LocalFunction` and the :data:`Invoker` hook see no difference:
the event and the context's fields (plain data; the context is rebuilt in the child, its deadline from the
remaining time) go to an idle sandbox, and the handler's response comes back.

A :class:`SandboxProbe` sees what the handler does in the sandbox, where the parent's own botocore hooks
cannot: it starts in each sandbox before the handler's import (the handler builds its clients there), and
after each invocation what it observed comes back with the response and is handed over on the invoking
thread (the bench counts the functions' AWS calls this way).

A sandbox that dies during an invocation (Lambda's ``Runtime.ExitError``) fails that invocation with
:class:`SandboxError` and is replaced in the background; a handler that raises fails it with
:class:`FunctionError`. Sandboxes ignore SIGINT: Ctrl-C in a terminal reaches the whole process group and
the parent stops them (SIGTERM) in :meth:`SandboxPool.stop`; a parent that dies closes their pipes and
they exit.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from batonflow.emulator.environment import EnvironPatch
from batonflow.emulator.errors import EmulatorError, FunctionError, HandlerImportError, SandboxError
from batonflow.emulator.lambda_runtime import LambdaContext, import_handler

logger = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
_READY_TIMEOUT_S = 120
_STOP_TIMEOUT_S = 5
_CHECKOUT_TICK_S = 0.2
_CONTEXT_FIELDS = (
    "function_name",
    "invoked_function_arn",
    "memory_limit_in_mb",
    "aws_request_id",
    "log_group_name",
    "log_stream_name",
    "function_version",
    "identity",
    "client_context",
)


@dataclass(frozen=True)
class SandboxProbe:
    """Observes the invocations a sandbox runs, from inside it.

    ``start`` runs in each sandbox before the handler is imported (it is pickled by reference: a
    module-level function) and returns the function the sandbox calls after every invocation, failed or
    not; what that returns (picklable) is passed to ``receive`` in the parent, on the invoking thread,
    before the invocation returns or raises."""

    start: Callable[[], Callable[[], Any]]
    receive: Callable[[Any], None]


@dataclass(eq=False)
class _Sandbox:
    process: Any
    connection: Connection
    reaping: threading.Lock = field(default_factory=threading.Lock)
    reaped: bool = False


class SandboxPool:
    """``size`` sandbox processes running ``handler_path`` under ``environment``; call it as the handler."""

    def __init__(
        self,
        handler_path: str,
        environment: Mapping[str, str],
        *,
        size: int,
        name: str = "function",
        ready_timeout_s: float = _READY_TIMEOUT_S,
        probe: SandboxProbe | None = None,
    ) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one sandbox, not {size}")
        self.handler_path = handler_path
        self.size = size
        self.name = name
        self.startup_s: float | None = None
        """Seconds :meth:`start` took to have every sandbox ready (its handler imported)."""
        self._environment = dict(environment)
        self._ready_timeout_s = ready_timeout_s
        self._probe = probe
        self._idle: queue.SimpleQueue[_Sandbox] = queue.SimpleQueue()
        self._sandboxes: set[_Sandbox] = set()
        self._replacing: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._spawned = 0

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> SandboxPool:
        """Spawn every sandbox and wait until each has imported the handler; an import failure raises."""
        began = time.monotonic()
        self._closed.clear()
        try:
            pending = [self._spawn() for _ in range(self.size)]  # all first: they import in parallel
            for sandbox in pending:
                self._await_ready(sandbox)
        except BaseException:
            self.stop()
            raise
        for sandbox in pending:
            self._idle.put(sandbox)
        self.startup_s = time.monotonic() - began
        logger.info("%s: %d sandboxes ready in %.1f s", self.name, self.size, self.startup_s)
        return self

    def stop(self) -> None:
        """Terminate every sandbox, busy or not (their invocations fail), and join them; idempotent."""
        self._closed.set()
        with self._lock:
            sandboxes, self._sandboxes = list(self._sandboxes), set()
            replacing, self._replacing = self._replacing, []
        for sandbox in sandboxes:
            sandbox.process.terminate()
        for sandbox in sandboxes:
            _reap(sandbox)
        for thread in replacing:
            thread.join(_STOP_TIMEOUT_S)
        while not self._idle.empty():
            self._idle.get_nowait()

    def __enter__(self) -> SandboxPool:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def idle(self) -> int:
        """How many sandboxes wait for an invocation."""
        return self._idle.qsize()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live sandboxes (for tests and diagnostics)."""
        with self._lock:
            return sorted(sandbox.process.pid for sandbox in self._sandboxes)

    # -- the handler -----------------------------------------------------------------------------------

    def __call__(self, event: Any, context: Any) -> Any:
        """Run one invocation in an idle sandbox (waiting for one) and return the handler's response."""
        sandbox = self._checkout()
        try:
            sandbox.connection.send((event, _context_fields(context)))
            status, payload, observed = sandbox.connection.recv()
        except (EOFError, OSError) as exc:
            self._lost(sandbox)
            raise SandboxError(f"{self.name}: the sandbox process died during the invocation") from exc
        self._idle.put(sandbox)
        if self._probe is not None:
            self._probe.receive(observed)
        if status == "error":
            raise FunctionError(f"{self.name}: {payload}")
        return payload

    # -- internals -------------------------------------------------------------------------------------

    def _spawn(self) -> _Sandbox:
        parent_end, child_end = _SPAWN.Pipe()
        with self._lock:
            self._spawned += 1
            number = self._spawned
        process = _SPAWN.Process(
            target=serve,
            args=(child_end, self.handler_path, self._environment, self._probe and self._probe.start),
            name=f"baton-sandbox-{self.name}-{number}",
            daemon=True,
        )
        process.start()
        child_end.close()  # else the parent keeps the child's end open and never sees EOF when it dies
        sandbox = _Sandbox(process, parent_end)
        with self._lock:
            stopped = self._closed.is_set()
            if not stopped:
                self._sandboxes.add(sandbox)
        if stopped:  # stop() ran while this one was starting: it would be left behind
            process.terminate()
            _reap(sandbox)
            raise SandboxError(f"{self.name}: the sandboxes are stopped")
        return sandbox

    def _await_ready(self, sandbox: _Sandbox) -> None:
        try:
            if not sandbox.connection.poll(self._ready_timeout_s):
                raise SandboxError(f"{self.name}: a sandbox was not ready in {self._ready_timeout_s} s")
            status, detail = sandbox.connection.recv()
        except (EOFError, OSError) as exc:
            raise SandboxError(f"{self.name}: a sandbox process died while importing its handler") from exc
        if status != "ready":
            raise HandlerImportError(f"handler {self.handler_path!r}: {detail}")

    def _checkout(self) -> _Sandbox:
        while True:
            if self._closed.is_set():
                raise SandboxError(f"{self.name}: the sandboxes are stopped")
            try:
                return self._idle.get(timeout=_CHECKOUT_TICK_S)
            except queue.Empty:
                with self._lock:
                    if not self._sandboxes and not self._replacing:
                        raise SandboxError(f"{self.name}: no sandbox left") from None

    def _lost(self, sandbox: _Sandbox) -> None:
        """Forget a dead sandbox and start its replacement in the background, unless stopping."""
        with self._lock:
            self._sandboxes.discard(sandbox)
            if self._closed.is_set():
                replacement = None
            else:
                replacement = threading.Thread(
                    target=self._replace, name=f"baton-sandbox-{self.name}-replace", daemon=True
                )
                self._replacing.append(replacement)
        _reap(sandbox)
        logger.error("%s: a sandbox died (exit code %s)", self.name, sandbox.process.exitcode)
        if replacement is not None:
            replacement.start()

    def _replace(self) -> None:
        try:
            sandbox = self._spawn()
            try:
                self._await_ready(sandbox)
            except EmulatorError:
                with self._lock:
                    self._sandboxes.discard(sandbox)
                sandbox.process.terminate()
                _reap(sandbox)
                raise
            self._idle.put(sandbox)
        except EmulatorError:
            if not self._closed.is_set():
                logger.exception("%s: a replacement sandbox failed to start", self.name)
        finally:
            with self._lock:
                current = threading.current_thread()
                if current in self._replacing:
                    self._replacing.remove(current)


def _reap(sandbox: _Sandbox) -> None:
    """Join the process and close its pipe, once: ``stop`` and the thread whose invocation the stop broke
    both reap the same sandbox, and a pipe closed twice could close another file that reused its number."""
    with sandbox.reaping:
        if sandbox.reaped:
            return
        sandbox.reaped = True
        sandbox.process.join(_STOP_TIMEOUT_S)
        if sandbox.process.is_alive():
            sandbox.process.kill()
            sandbox.process.join()
        sandbox.connection.close()


def _context_fields(context: Any) -> dict[str, Any]:
    fields = {name: getattr(context, name, None) for name in _CONTEXT_FIELDS}
    fields["remaining_ms"] = context.get_remaining_time_in_millis()
    return fields


def serve(
    connection: Connection,
    handler_path: str,
    environment: Mapping[str, str],
    start_probe: Callable[[], Callable[[], Any]] | None = None,
) -> None:
    """A sandbox's main: set the environment, import the handler, then run invocations until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    EnvironPatch().apply(environment)
    observe = start_probe() if start_probe is not None else _nothing
    try:
        handler = import_handler(handler_path)
    except Exception as exc:  # anything the module raises at import fails the init, as on Lambda
        connection.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", None))
    while True:
        try:
            event, fields = connection.recv()
        except (EOFError, OSError):
            return
        remaining_ms = fields.pop("remaining_ms")
        context = LambdaContext(**fields, deadline_s=time.time() + remaining_ms / 1000)
        try:
            status, payload = "ok", handler(event, context)
        except Exception as exc:  # the runtime reports any handler exception as a function error
            traceback.print_exc()
            status, payload = "error", f"{type(exc).__name__}: {exc}"
        observed = observe()
        try:
            connection.send((status, payload, observed))
        except OSError:
            return  # the parent is gone
        except Exception as exc:  # an unpicklable response: pickling fails before anything is sent
            connection.send(("error", f"the response cannot be returned: {exc}", observed))


def _nothing() -> None:
    return None
