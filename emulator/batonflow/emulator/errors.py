"""Errors of the local stack::

EmulatorError                 also: a stack used before start, queues that never go quiet in ``pump``
├── EnvironmentConflictError  two functions need different values for one environment variable
├── HandlerImportError        a function's Handler cannot be imported or is not callable
├── FunctionError             a handler raised in its sandbox process (the gateway answers 500)
└── SandboxError              a sandbox process died mid-invocation, or none is left (the gateway answers 502)
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Root of every error raised by :mod:`batonflow.emulator`."""


class EnvironmentConflictError(EmulatorError):
    """All functions share one process, hence one ``os.environ``; their variables must agree."""


class HandlerImportError(EmulatorError):
    """A ``Handler`` string does not name a callable in an importable module."""


class FunctionError(EmulatorError):
    """A handler running in a sandbox process raised; the message names the exception (its traceback is
    printed by the sandbox)."""


class SandboxError(EmulatorError):
    """A sandbox process died during an invocation (a crash, ``os._exit``, the OOM killer), or the pool is
    stopped: API Gateway answers such an integration failure with a 5xx, not a hang."""
