"""How every API command reaches the stack: one client factory, one ``--url`` option, one error style.

Commands that talk to the REST API take :data:`UrlOption`, build their client with
:func:`client_from_options` and run their calls inside :func:`api_errors`, so a refusal from the server
(or no server at all) is one red line with the server's message and exit code 1. ``baton --debug``
(see :func:`set_debug`) lets the error through instead, traceback and all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from batonflow.sdk.client import BatonClient

DEFAULT_URL = "http://127.0.0.1:8080"

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="BATON_API_URL",
        help=f"The stack's API: `baton up`'s or the API Gateway URL (default {DEFAULT_URL}). "
        "Auth from BATON_AUTH_KEY/SECRET (or CONDUCTOR_AUTH_KEY/SECRET), BATON_AUTH=iam or BATON_API_TOKEN.",
        show_default=False,
    ),
]

error_console = Console(stderr=True)
_settings = {"debug": False}
_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def set_debug(enabled: bool) -> None:
    """Let API errors through as tracebacks (``baton --debug``)."""
    _settings["debug"] = enabled


def debug_enabled() -> bool:
    return _settings["debug"]


def fail(message: str) -> NoReturn:
    """Print one red line on stderr and exit with code 1."""
    error_console.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(1)


def client_from_options(url: str | None) -> BatonClient:
    """A client for ``url`` (default ``BATON_API_URL``, then the local stack) with the environment's auth
    (:meth:`BatonClient.from_env`). A contradictory auth setting is one red line, exit 1."""
    from batonflow.sdk.client import BatonClient

    environ = dict(os.environ)
    environ["BATON_API_URL"] = url or environ.get("BATON_API_URL") or DEFAULT_URL
    try:
        # one retry: a stack that is not there should say so at once, not after a round of back-offs
        return BatonClient.from_env(environ, retries=1)
    except ValueError as error:
        if debug_enabled():
            raise
        fail(f"Error: {error}")


@contextmanager
def api_errors() -> Iterator[None]:
    """Turn :class:`BatonApiError` into ``Error (<status>): <server message>`` and exit 1.

    Works as ``with api_errors():`` and as a ``@api_errors()`` decorator. Status 0 means no answer
    (nothing listening, DNS, timeout). Under ``--debug`` the error propagates unchanged.
    """
    from batonflow.sdk.wire import BatonApiError

    try:
        yield
    except BatonApiError as error:
        if debug_enabled():
            raise
        for path, message in validation_errors(error):
            error_console.print(f"  [red]{escape(path)}[/red]: {escape(message)}", soft_wrap=True)
        message = _no_answer(error.message) if error.status == 0 else _one_line(error)
        fail(f"Error ({error.status}): {message}")


@contextmanager
def aws_errors() -> Iterator[None]:
    """For the commands that call AWS directly (``baton keys``, ``baton dlq``): an AWS error (no
    credentials, no such table, access denied) is one red line and exit 1, or a traceback with --debug."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        if debug_enabled():
            raise
        fail(f"AWS refused: {error}")


def validation_errors(error: BaseException) -> list[tuple[str, str]]:
    """The ``(path, message)`` pairs of a Conductor 400's ``validationErrors``, in the server's order."""
    body = getattr(error, "body", None)
    found = body.get("validationErrors") if isinstance(body, dict) else None
    if not isinstance(found, list):
        return []
    return [
        (str(item.get("path") or "-"), _one_line_text(item.get("message") or ""))
        for item in found
        if isinstance(item, dict)
    ]


def _no_answer(message: str) -> str:
    """``no answer from <url>: <urllib3's nested repr>`` cut to the OS's reason (connection refused...)."""
    where, _, detail = message.partition(": ")
    found = _OS_REASON.search(detail)
    return f"{where}: {found.group(1)}" if found else _one_line_text(message)


def _one_line(error: BaseException) -> str:
    return _one_line_text(getattr(error, "message", None) or str(error))


def _one_line_text(text: object) -> str:
    return " ".join(str(text).split())
