"""The process environment the functions see, and what a worker needs to reach the stack.

Locally every function shares one process and so one ``os.environ``. :func:`shared_environment` merges
the functions' template environments and refuses a variable two functions disagree on; the alternative —
last one wins — would let a handler silently talk to another function's table or queue.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import ClassVar

from batonflow.emulator.errors import EnvironmentConflictError
from batonflow.infra import LOCAL_CREDENTIALS, FunctionSpec
from batonflow.model.wire import QUEUE_PREFIX_ENV, RESULTS_QUEUE_ENV

WORKER_VARIABLES = (
    QUEUE_PREFIX_ENV,
    RESULTS_QUEUE_ENV,
    "BATON_BUCKET",
    "BATON_PAYLOAD_THRESHOLD",
)
"""Function variables a worker process needs too (where to poll, where to report, where big payloads go)."""

_UNSET_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN")
"""A named profile makes botocore ignore credentials from the environment; a stray token would be sent."""


def shared_environment(functions: Iterable[FunctionSpec]) -> dict[str, str]:
    """The union of the functions' environments; a variable two functions disagree on raises."""
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for spec in functions:
        for name, value in spec.environment.items():
            if name in merged and merged[name] != value:
                raise EnvironmentConflictError(
                    f"{name}: {owners[name]} needs {merged[name]!r} but {spec.logical_id} needs {value!r}; "
                    "functions share one process locally, so their environments must agree"
                )
            merged[name], owners[name] = value, spec.logical_id
    return merged


def aws_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """What makes any boto3 client in a process talk to ``endpoint_url`` with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
    }


def fingerprint(variables: Mapping[str, str]) -> str:
    """A stable digest of an environment, to tell whether a handler module was imported under it."""
    return hashlib.sha256(repr(sorted(variables.items())).encode()).hexdigest()


class EnvironPatch:
    """Sets variables in ``os.environ`` (unsetting the profile ones) and puts everything back on restore.

    Patches are layers, and stacks may stop in any order (a test's own stack may stop while the session's
    stack, started after it, still runs): a patch restored while a later one still sets a variable leaves
    the variable alone and hands what it saved to that later patch, which restores it in turn.
    """

    _active: ClassVar[list[EnvironPatch]] = []

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def apply(self, variables: Mapping[str, str]) -> None:
        for name in [*variables, *_UNSET_VARIABLES]:
            self._saved.setdefault(name, os.environ.get(name))
        for name in _UNSET_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(variables)
        if self not in self._active:
            self._active.append(self)

    def restore(self) -> None:
        if self not in self._active:
            return
        later = self._active[self._active.index(self) + 1 :]
        self._active.remove(self)
        for name, value in self._saved.items():
            successor = next((patch for patch in later if name in patch._saved), None)
            if successor is not None:
                successor._saved[name] = value
            elif value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved = {}
