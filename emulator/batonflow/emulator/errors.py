"""Errors of the local stack::

EmulatorError                 also: a stack used before start, queues that never go quiet in ``pump``
├── EnvironmentConflictError  two functions need different values for one environment variable
└── HandlerImportError        a function's Handler cannot be imported or is not callable
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Root of every error raised by :mod:`batonflow.emulator`."""


class EnvironmentConflictError(EmulatorError):
    """All functions share one process, hence one ``os.environ``; their variables must agree."""


class HandlerImportError(EmulatorError):
    """A ``Handler`` string does not name a callable in an importable module."""
