"""HTTP task: read the request from the task input, make the call, shape Conductor's output (REFERENCE §4.17).

Everything but :func:`call` is pure. :func:`call` takes the ``urllib3.PoolManager`` (urllib3 ships with
botocore, so the Lambda package needs nothing new) and a time budget: the connect and read timeouts of the
input (3000 ms each unless given) are also capped so one call ends before its Lambda does.

Conductor's shapes, kept because users' workflows read them:

* 2xx -> COMPLETED with ``response = {statusCode, reasonPhrase, headers: {name: [values]}, body}``; the body
  is JSON when it parses (a bare number becomes a float, a bare ``true``/``null`` the text ``"true"``/
  ``"null"``, as Jackson's ``asText``), else the raw text; no body -> null.
* anything else (non-2xx, refused connection, timeout) -> FAILED, ``reasonForIncompletion`` =
  ``Failed to invoke HTTP task due to: java.lang.Exception: <what went wrong>`` and ``response`` = the
  exception text alone, with no ``statusCode`` (pitfall 29). The ``java.lang.Exception:`` prefix is
  Conductor's text; it stays so that log searches and assertions written against Conductor keep working.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from batonflow.model import TaskStatus
from batonflow.system_tasks.outcome import SystemOutcome

REQUEST_KEY = "http_request"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"})
DEFAULT_TIMEOUT_MS = 3000
"""Effective default of both ``connectionTimeOut`` and ``readTimeOut`` in Conductor (pitfall 29)."""
NULL_CONNECT_TIMEOUT_MS = 100
NULL_READ_TIMEOUT_MS = 150
"""What Conductor's documentation calls the defaults: they apply only to fields given as null."""
DEFAULT_MEDIA_TYPE = "application/json"
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
"""A larger body fails the task rather than the Lambda (memory), and would exceed the payload limit."""
MISSING_URI = "Missing HTTP URI.  See documentation for HttpTask for required input parameters"
MISSING_METHOD = "No HTTP method specified"
FAILURE_PREFIX = "Failed to invoke HTTP task due to: "
EXCEPTION_PREFIX = "java.lang.Exception: "
_BODY_EXCERPT = 200
_REDIRECTS = 5


@dataclass(frozen=True)
class HttpRequest:
    """The call an HTTP task asks for, with Conductor's defaults applied."""

    uri: str
    method: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    connect_timeout_ms: int = DEFAULT_TIMEOUT_MS
    read_timeout_ms: int = DEFAULT_TIMEOUT_MS

    def encoded_body(self) -> bytes | None:
        """A string is sent as it is (Spring's string converter); any other value as JSON."""
        if self.body is None:
            return None
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


def parse_request(input_data: dict[str, Any]) -> HttpRequest | SystemOutcome:
    """The request in ``inputData.http_request`` (or at the top level of the input), else the failure."""
    nested = input_data.get(REQUEST_KEY)
    source: dict[str, Any] = nested if isinstance(nested, dict) else input_data
    uri = source.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        return failed_input(MISSING_URI)
    method = source.get("method")
    if not isinstance(method, str) or not method.strip():
        return failed_input(MISSING_METHOD)
    method = method.strip().upper()
    if method not in METHODS:
        return failed_input(f"Unsupported HTTP method: {method}. Use one of {', '.join(sorted(METHODS))}")
    headers = {
        "Accept": _accept(source.get("accept", DEFAULT_MEDIA_TYPE)),
        "Content-Type": _text(source.get("contentType") or DEFAULT_MEDIA_TYPE),
    }
    given = source.get("headers")
    if isinstance(given, dict):
        headers.update({str(k): _text(v) for k, v in given.items() if v is not None})
    return HttpRequest(
        uri=uri.strip(),
        method=method,
        headers=headers,
        body=source.get("body"),
        connect_timeout_ms=_timeout(source, "connectionTimeOut", NULL_CONNECT_TIMEOUT_MS),
        read_timeout_ms=_timeout(source, "readTimeOut", NULL_READ_TIMEOUT_MS),
    )


def failed_input(reason: str) -> SystemOutcome:
    return SystemOutcome(TaskStatus.FAILED, {}, reason)


def _accept(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value if v is not None) or DEFAULT_MEDIA_TYPE
    return _text(value) if value is not None else DEFAULT_MEDIA_TYPE


def _text(value: Any) -> str:
    """Java's ``toString`` of a header value (booleans lower case, JSON for maps and lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _timeout(source: dict[str, Any], key: str, when_null: int) -> int:
    if key not in source:
        return DEFAULT_TIMEOUT_MS
    value = source[key]
    if value is None:
        return when_null
    try:
        milliseconds = int(value)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_MS
    return milliseconds if milliseconds > 0 else DEFAULT_TIMEOUT_MS


# --- the response --------------------------------------------------------------------------------------


def parse_body(text: str | None) -> Any:
    """Conductor's ``extractBody``: JSON containers as they are, numbers as floats, other JSON as text."""
    if text is None or text == "":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return float(value)
    return value


def reason_phrase(status: int, sent: str | None = None) -> str:
    """The standard phrase of a status (Spring's ``HttpStatus.getReasonPhrase``), else the server's."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return sent or ""


def completed(
    status: int, headers: dict[str, list[str]], text: str | None, sent_phrase: str = ""
) -> SystemOutcome:
    """A 2xx response as Conductor's ``response`` output."""
    response = {
        "statusCode": status,
        "reasonPhrase": reason_phrase(status, sent_phrase),
        "headers": headers,
        "body": parse_body(text),
    }
    return SystemOutcome(TaskStatus.COMPLETED, {"response": response})


def status_failure(status: int, text: str | None, sent_phrase: str = "") -> SystemOutcome:
    """A non-2xx response: FAILED with the status and the start of the body in the reason (Spring's text)."""
    if text:
        excerpt = text if len(text) <= _BODY_EXCERPT else text[:_BODY_EXCERPT] + " (truncated)..."
        shown = f'"{excerpt}"'
    else:
        shown = "[no body]"
    return io_failure(f"{status} {reason_phrase(status, sent_phrase)}: {shown}")


def io_failure(problem: str) -> SystemOutcome:
    exception = EXCEPTION_PREFIX + problem
    return SystemOutcome(TaskStatus.FAILED, {"response": exception}, FAILURE_PREFIX + exception)


# --- the call ------------------------------------------------------------------------------------------


def new_pool() -> urllib3.PoolManager:
    """One pool per Lambda container; redirects followed (as Spring's client does), never retried."""
    retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=_REDIRECTS)
    return urllib3.PoolManager(retries=retries)


def call(pool: urllib3.PoolManager, request: HttpRequest, *, budget_ms: int) -> SystemOutcome:
    """Make the call; every outcome, failures included, becomes a result (nothing raises)."""
    connect_ms = min(request.connect_timeout_ms, budget_ms)
    total_ms = min(request.connect_timeout_ms + request.read_timeout_ms, budget_ms)
    timeout = urllib3.Timeout(
        connect=max(connect_ms, 1) / 1000,
        read=max(min(request.read_timeout_ms, total_ms), 1) / 1000,
        total=max(total_ms, 1) / 1000,
    )
    where = f'{request.method} request for "{request.uri}"'
    try:
        response = pool.request(
            request.method,
            request.uri,
            body=request.encoded_body(),
            headers=request.headers,
            timeout=timeout,
            preload_content=False,
        )
        try:
            raw = response.read(MAX_RESPONSE_BYTES + 1)
        finally:
            response.release_conn()
    except MaxRetryError as error:
        return io_failure(f"I/O error on {where}: {_describe(error.reason or error)}")
    except (HTTPError, OSError, ValueError) as error:
        return io_failure(f"I/O error on {where}: {_describe(error)}")
    if len(raw) > MAX_RESPONSE_BYTES:
        return io_failure(f"Response of {where} is larger than {MAX_RESPONSE_BYTES} bytes")
    text = _decode(raw, response.headers.get("Content-Type")) if raw else None
    status = response.status
    if 200 <= status < 300:
        headers = {name: list(response.headers.getlist(name)) for name in response.headers}
        return completed(status, headers, text, response.reason or "")
    return status_failure(status, text, response.reason or "")


def _describe(error: BaseException) -> str:
    if isinstance(error, ReadTimeoutError):
        return "Read timed out"
    if isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError):
        return "Connect timed out"  # (urllib3 2 makes a refused connection a ConnectTimeoutError too)
    text = str(error) or type(error).__name__
    if text.startswith("<") and ">: " in text:  # urllib3 prefixes the connection object's repr
        text = text.split(">: ", 1)[1]
    return text


def _decode(raw: bytes, content_type: str | None) -> str:
    charset = "utf-8"
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return raw.decode(charset, errors="replace")


def run(pool: urllib3.PoolManager, input_data: dict[str, Any], *, budget_ms: int) -> SystemOutcome:
    """The whole task: read the request, call, and with ``asyncComplete`` wait IN_PROGRESS after a 2xx."""
    request = parse_request(input_data)
    if isinstance(request, SystemOutcome):
        return request
    outcome = call(pool, request, budget_ms=budget_ms)
    if outcome.status == TaskStatus.COMPLETED and input_data.get("asyncComplete") is True:
        return SystemOutcome(TaskStatus.IN_PROGRESS, outcome.output)
    return outcome
