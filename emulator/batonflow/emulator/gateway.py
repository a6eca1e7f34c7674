"""API Gateway HTTP API emulation without sockets: request → payload v2.0 event → handler → response.

:class:`LocalGateway` is the core shared by the HTTP server of ``baton up``
(:mod:`batonflow.emulator.http_server`) and by tests, which call :meth:`LocalGateway.handle` directly, as
Chalice's ``LocalGateway`` is shared by ``chalice local`` and its test client.

What AWS does and we copy (payload format 2.0):

* routes are chosen most-specific first: exact paths before ``{var}`` before greedy ``{proxy+}``, an
  explicit method before ``ANY``, ``$default`` last; no match is ``404 {"message":"Not Found"}``;
* the path is percent-decoded before routing and in ``rawPath`` (HTTP APIs do that, REST APIs do not);
* header names are lower-cased and repeated headers comma-joined; ``Cookie`` headers move to ``cookies``;
  repeated query keys are comma-joined; empty ``queryStringParameters``/``pathParameters`` are omitted;
* a body whose content type is not text is base64-encoded with ``isBase64Encoded: true``;
* a handler result with ``statusCode`` is a structured response (``headers``, ``cookies`` → ``Set-Cookie``,
  ``body``, ``isBase64Encoded``; ``multiValueHeaders`` is ignored, as format 2.0 does); any other result is
  ``200`` with its JSON as the body; a missing ``Content-Type`` becomes ``application/json``;
* a handler that raises, or returns something malformed, is ``500 {"message":"Internal Server Error"}``;
* a sandbox process that dies during the request (Lambda's ``Runtime.ExitError``) is
  ``502 {"message":"Bad Gateway"}``: an answer, never a hang.

Local additions: duplicate slashes in the path are collapsed (conductor-python can send ``//``) and the
request context's ``domainName`` is the ``Host`` the client used.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from batonflow.emulator.errors import SandboxError
from batonflow.infra import FunctionSpec, HttpApiEvent

logger = logging.getLogger(__name__)

DEFAULT_ROUTE = "$default"
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")
_VARIABLE = re.compile(r"^\{([^{}+]+)(\+?)\}$")
_HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade")
)
"""Headers that end at API Gateway and never reach the integration."""
_NOT_FOUND = {"message": "Not Found"}
_INTERNAL_ERROR = {"message": "Internal Server Error"}
_BAD_GATEWAY = {"message": "Bad Gateway"}


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as a client sent it: the path and query are still percent-encoded."""

    method: str
    path: str
    query: str = ""
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        *,
        json_body: Any = None,
        body: bytes | str = b"",
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    ) -> HttpRequest:
        """Convenience for tests: ``HttpRequest.build("POST", "/api/x?a=1", json_body={...})``."""
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        if json_body is not None:
            body = json.dumps(json_body)
            if not any(name.lower() == "content-type" for name, _ in pairs):
                pairs.append(("Content-Type", "application/json"))
        raw = body.encode() if isinstance(body, str) else body
        path, _, query = target.partition("?")
        return cls(method=method.upper(), path=path, query=query, headers=pairs, body=raw)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Route:
    """One route key (``ANY /api/{proxy+}``) bound to the logical id of the function serving it."""

    method: str
    path: str
    function: str

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    @property
    def specificity(self) -> tuple[bool, bool, int, int, bool]:
        """Sort key, most specific first.

        Not ``$default``, then no greedy variable, fewest variables, most literal segments, explicit method.
        """
        variables = len(_compile_path(self.path)[1])
        literals = len(self.path.strip("/").split("/")) - variables
        greedy = "+}" in self.path
        return (self.path == DEFAULT_ROUTE, greedy, variables, -literals, self.method == "ANY")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route serves ``method path`` (a decoded path), else ``None``."""
        if self.method not in ("ANY", method):
            return None
        pattern, names = _compile_path(self.path)
        if pattern is None:
            return {}
        found = pattern.fullmatch(path)
        return None if found is None else dict(zip(names, found.groups(), strict=True))


@functools.cache
def _compile_path(path: str) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """``/items/{id}/{proxy+}`` → a regex with one group per variable, and the variable names."""
    if path == DEFAULT_ROUTE:
        return None, ()
    parts, names = [], []
    for segment in path.strip("/").split("/"):
        variable = _VARIABLE.match(segment)
        if variable is None:
            parts.append(re.escape(segment))
            continue
        names.append(variable.group(1))
        parts.append("(.+)" if variable.group(2) else "([^/]+)")
    # DOTALL: a decoded path may hold a newline (%0A), and API Gateway routes it like any other character
    return re.compile("/" + "/".join(parts), re.DOTALL), tuple(names)


def routes_from(functions: Iterable[FunctionSpec]) -> list[Route]:
    """Every HttpApi event of every function, as routes. Routes of several HTTP APIs are served together."""
    return [
        Route(method=event.method, path=event.path, function=spec.logical_id)
        for spec in functions
        for event in spec.events_of(HttpApiEvent)
    ]


class LocalGateway:
    """Turns :class:`HttpRequest` into a handler call and its result into :class:`HttpResponse`.

    ``targets`` maps a function's logical id to a callable taking the event and returning the handler's
    result (the stack passes :meth:`batonflow.emulator.lambda_runtime.LocalFunction.invoke`).
    """

    def __init__(
        self,
        routes: Iterable[Route],
        targets: Mapping[str, Callable[[dict[str, Any]], Any]],
        *,
        api_id: str = "local",
        account_id: str = "123456789012",
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:16],
    ) -> None:
        self.routes = sorted(routes, key=lambda route: route.specificity)
        self._targets = targets
        self._api_id = api_id
        self._account_id = account_id
        self._clock = clock
        self._new_id = new_id

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = collapse_slashes(unquote(request.path))
        for route in self.routes:
            parameters = route.match(request.method, path)
            if parameters is not None:
                break
        else:
            return _json_response(404, _NOT_FOUND, self._new_id())
        request_id = self._new_id()
        event = self.event_for(request, route, parameters, request_id=request_id)
        try:
            result = self._targets[route.function](event)
            return lambda_result_to_response(result, request_id)
        except SandboxError:
            logger.exception("%s crashed on %s %s", route.function, request.method, path)
            return _json_response(502, _BAD_GATEWAY, request_id)
        except Exception:
            logger.exception("%s failed on %s %s", route.function, request.method, path)
            return _json_response(500, _INTERNAL_ERROR, request_id)

    def event_for(
        self, request: HttpRequest, route: Route, path_parameters: Mapping[str, str], *, request_id: str
    ) -> dict[str, Any]:
        """The payload format 2.0 event API Gateway would send for ``request`` on ``route``."""
        now = self._clock()
        path = collapse_slashes(unquote(request.path))
        headers, cookies = _event_headers(request)
        domain = headers.get("host", f"{self._api_id}.execute-api.localhost")
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": path,
            "rawQueryString": request.query,
        }
        if cookies:
            event["cookies"] = cookies
        event["headers"] = headers
        query = _query_parameters(request.query)
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = dict(path_parameters)
        event["requestContext"] = {
            "accountId": self._account_id,
            "apiId": self._api_id,
            "domainName": domain,
            "domainPrefix": domain.split(":")[0].split(".")[0],
            "http": {
                "method": request.method,
                "path": path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        }
        if request.body:
            text = _as_text(request)
            event["body"] = text if text is not None else base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = text is None
        else:
            event["isBase64Encoded"] = False
        return event


def collapse_slashes(path: str) -> str:
    return re.sub(r"/{2,}", "/", path) or "/"


def lambda_result_to_response(result: Any, request_id: str) -> HttpResponse:
    """Map a handler's return value to HTTP as payload format 2.0 does; malformed results raise."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return _json_response(200, result, request_id)
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status} is not an HTTP status")
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("apigw-requestid", request_id))
    body = result.get("body")
    if body is None:
        raw = b""
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(str(body), validate=True)
        except binascii.Error as exc:
            raise ValueError("isBase64Encoded body is not base64") from exc
    else:
        raw = str(body).encode("utf-8")
    return HttpResponse(status=status, headers=headers, body=raw)


def _json_response(status: int, payload: Any, request_id: str) -> HttpResponse:
    headers = [("Content-Type", "application/json"), ("apigw-requestid", request_id)]
    return HttpResponse(status=status, headers=headers, body=json.dumps(payload).encode("utf-8"))


def _event_headers(request: HttpRequest) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key in _HOP_BY_HOP:
            continue
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif key in headers:
            headers[key] = f"{headers[key]},{value}"
        else:
            headers[key] = value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded},{request.source_ip}" if forwarded else request.source_ip
    headers.setdefault("x-forwarded-proto", "http")
    host = headers.get("host", "")
    if ":" in host:
        headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1])
    return headers, cookies


def _query_parameters(query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def _as_text(request: HttpRequest) -> str | None:
    """The body as text when its content type is textual (and it decodes), else ``None``."""
    content_type = next((value for name, value in request.headers if name.lower() == "content-type"), "")
    mime = content_type.split(";")[0].strip().lower()
    textual = mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))
    if not textual:
        return None
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError:
        return None
