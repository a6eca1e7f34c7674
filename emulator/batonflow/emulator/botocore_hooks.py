"""Event handlers on every boto3 client a process builds from now on, without touching the code that
builds them: the bench's call ledger, the fault injector and the IAM coverage test use this.

botocore copies ``botocore.handlers.BUILTIN_HANDLERS`` into every new session, so a handler appended
there reaches the handlers' clients, the emulator's pollers and the workers alike. Clients built before
:meth:`SessionHooks.install` are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import botocore.handlers

Handler = tuple[str, Callable[..., Any]]


class SessionHooks:
    """Base of an object whose ``handlers`` (botocore event name, handler) go on every new session."""

    def __init__(self, handlers: list[Handler]) -> None:
        self._handlers = handlers

    def install(self) -> Self:
        botocore.handlers.BUILTIN_HANDLERS.extend(self._handlers)
        return self

    def uninstall(self) -> None:
        for spec in self._handlers:
            if spec in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(spec)
