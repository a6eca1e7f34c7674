"""Run a Lambda handler in this process: the context object, the invoke hook, the handler import.

Every handler call of the local stack — HTTP, SQS, schedule or direct — goes through one
:data:`Invoker`. The default calls the handler; tests and later features (fault injection, call
counting, latency) pass their own that wraps :func:`direct_invoke`, without touching the gateway or the
pollers. Not emulated: the function timeout (a thread cannot be killed; the context still reports the
remaining time so handlers that watch it behave) and per-function memory limits.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batonflow.emulator.errors import HandlerImportError
from batonflow.infra import FunctionSpec

Handler = Callable[[Any, Any], Any]
Clock = Callable[[], float]


@dataclass
class LambdaContext:
    """The attributes and method of the Python runtime's context object.

    ``memory_limit_in_mb`` is a string, as the real runtime passes it (it reads an environment variable).
    """

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: str
    aws_request_id: str
    deadline_s: float
    log_group_name: str = ""
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    clock: Clock = field(default=time.time, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_s - self.clock()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """One handler call about to happen; calling it runs the handler."""

    function: FunctionSpec
    handler: Handler
    event: Any
    context: LambdaContext
    source: str
    """``http``, ``sqs``, ``dynamodb``, ``schedule`` or ``direct``."""

    def __call__(self) -> Any:
        return self.handler(self.event, self.context)


Invoker = Callable[[Invocation], Any]


def direct_invoke(invocation: Invocation) -> Any:
    """The default :data:`Invoker`: call the handler, nothing else."""
    return invocation()


class LocalFunction:
    """A function of the template bound to its handler; :meth:`invoke` is what event sources call.

    At most ``concurrency`` invocations run at once (the others wait), as with that many Lambda execution
    environments. An in-process handler needs 1: handler modules hold per-environment state, and
    Powertools' event handler keeps the current request in class attributes, so two concurrent calls in one
    process would mix up their requests. More needs a handler that runs each call in its own process
    (:class:`~batonflow.emulator.sandboxes.SandboxPool`).
    """

    def __init__(
        self,
        spec: FunctionSpec,
        handler: Handler,
        *,
        arn: str,
        invoker: Invoker = direct_invoke,
        clock: Clock = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        concurrency: int = 1,
    ) -> None:
        self.spec = spec
        self.handler = handler
        self.arn = arn
        self._invoker = invoker
        self._clock = clock
        self._new_id = new_id
        self._sandboxes = threading.BoundedSemaphore(concurrency)

    def invoke(self, event: Any, *, source: str = "direct") -> Any:
        """Call the handler through the invoker with a fresh context; exceptions propagate."""
        with self._sandboxes:
            context = LambdaContext(
                function_name=self.spec.function_name,
                invoked_function_arn=self.arn,
                memory_limit_in_mb=str(self.spec.memory_mb),
                aws_request_id=self._new_id(),
                deadline_s=self._clock() + self.spec.timeout_s,
                log_group_name=f"/aws/lambda/{self.spec.function_name}",
                clock=self._clock,
            )
            return self._invoker(Invocation(self.spec, self.handler, event, context, source))


_imported_under: dict[str, str] = {}
"""Handler module → fingerprint of the environment it was imported under."""


def load_handler(path: str, environment_fingerprint: str) -> Handler:
    """Import a handler for an environment; a module imported under another environment is re-imported."""
    module = path.rpartition(".")[0]
    fresh = module in sys.modules and _imported_under.get(module) != environment_fingerprint
    handler = import_handler(path, fresh=fresh)
    _imported_under[module] = environment_fingerprint
    return handler


def import_handler(path: str, *, fresh: bool = False) -> Handler:
    """Import ``package.module.function``; with ``fresh``, re-execute the module like a new sandbox would.

    ``fresh`` drops only the handler module itself from ``sys.modules``: handlers build their clients and
    read their settings at import, so that is where per-stack state lives (STYLE §2).
    """
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise HandlerImportError(f"handler {path!r} is not of the form module.function")
    if fresh:
        sys.modules.pop(module_name, None)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerImportError(f"handler {path!r}: cannot import {module_name}: {exc}") from exc
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerImportError(f"handler {path!r}: {module_name} has no callable {attribute}")
    return handler
