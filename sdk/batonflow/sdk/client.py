"""A small client for Baton's Conductor-compatible REST API: definitions in, workflows started and watched.

Plain dicts in and out (Conductor's JSON shapes). Any non-2xx answer raises :class:`BatonApiError` built
from Conductor's error JSON ``{status, message, retryable, validationErrors, ...}``; no answer at all
(connection refused, timeout) raises it with ``status`` 0, as conductor-python does.

Authentication follows the stack's ``AuthMode`` and is one strategy object that :meth:`BatonClient._request`
asks to authorize each request (and, after a refusal, whether to send it once more):

* ``api_key=(key_id, secret)`` (``KEY``): conductor-python's wire behaviour (python-sdk-wire.md §2). The key
  is traded for a token at ``POST /api/token`` on the first request, the token goes out in
  ``X-Authorization`` and is renewed once it is 45 minutes old (the server accepts it for an hour). A 401
  whose body says ``EXPIRED_TOKEN`` or ``INVALID_TOKEN`` renews it and repeats the request once: the server
  refused it without acting, so even a POST is safe to repeat then. ``/api/token`` answering 404 means the
  server is open: requests go out without a token until one is refused with such a 401.
* ``aws_iam=True`` or a botocore ``Credentials`` (``IAM``): every request signed with SigV4 for the
  ``execute-api`` service. Refreshable credentials (roles, SSO) are re-read on each request.
* ``bearer_token="..."`` or a function returning the current one (``JWT``): ``Authorization: Bearer``.
* none of them (``NONE``).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TERMINAL_WORKFLOW_STATUSES = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})
DEFAULT_API_URL = "http://127.0.0.1:8080"
TOKEN_HEADER = "X-Authorization"
TOKEN_RENEWAL_S = 45 * 60
"""A token is renewed once this old, as conductor-python does; the server honours it for an hour."""
RENEW_TOKEN_ERRORS = frozenset({"EXPIRED_TOKEN", "INVALID_TOKEN"})
_EXECUTE_API_HOST = re.compile(r"^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


class BatonApiError(Exception):
    """The API answered with an error (``status`` = HTTP status), or did not answer (``status`` = 0)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body

    @property
    def retryable(self) -> bool:
        """Conductor's ``retryable`` flag; without one, server errors and no answer count as retryable."""
        flag = self.body.get("retryable") if isinstance(self.body, dict) else None
        if isinstance(flag, bool):
            return flag
        return self.status == 0 or self.status >= 500


class BatonClient:
    """``base_url`` is the server root (``http://127.0.0.1:8080``); ``/api`` is appended unless present.

    At most one of ``api_key``, ``aws_iam`` (with ``region``) and ``bearer_token``; see the module docstring.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        api_key: tuple[str, str] | None = None,
        aws_iam: bool | Credentials = False,
        region: str | None = None,
        bearer_token: str | Callable[[], str] | None = None,
        timeout_s: float = 30.0,
        retries: int = 3,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        root = base_url.rstrip("/")
        self.api_url = root if root.endswith("/api") else f"{root}/api"
        self._auth = _auth_for(self.api_url, api_key, aws_iam, region, bearer_token, clock)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json, text/plain"}
        self._headers.update(headers or {})
        # Only connection failures are retried (nothing was sent); a read failure is not, so a POST is
        # never sent twice behind the caller's back.
        retry = urllib3.Retry(total=retries, connect=retries, read=0, status=0, other=0, backoff_factor=0.2)
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10.0, read=timeout_s), retries=retry)
        self._clock = clock
        self._sleep = sleep

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> BatonClient:
        """A client configured from the environment; ``options`` go to the constructor as they are.

        ``BATON_API_URL`` (default ``http://127.0.0.1:8080``); then at most one of ``BATON_AUTH_KEY`` +
        ``BATON_AUTH_SECRET`` (else conductor-python's ``CONDUCTOR_AUTH_KEY`` + ``CONDUCTOR_AUTH_SECRET``),
        ``BATON_AUTH=iam`` (credentials and region from the usual AWS environment) and ``BATON_API_TOKEN``.
        """
        env = os.environ if environ is None else environ
        key_id, secret = env.get("BATON_AUTH_KEY"), env.get("BATON_AUTH_SECRET")
        names = ("BATON_AUTH_KEY", "BATON_AUTH_SECRET")
        if not key_id and not secret:
            key_id, secret = env.get("CONDUCTOR_AUTH_KEY"), env.get("CONDUCTOR_AUTH_SECRET")
            names = ("CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET")
        if bool(key_id) != bool(secret):
            raise ValueError(f"{names[0]} and {names[1]} go together: set both or neither")
        mode = env.get("BATON_AUTH", "").strip().lower()
        if mode not in ("", "iam"):
            raise ValueError(f"BATON_AUTH={mode!r}: the only value is 'iam' (keys and tokens have their own)")
        return cls(
            env.get("BATON_API_URL") or DEFAULT_API_URL,
            api_key=(key_id, secret) if key_id and secret else None,
            aws_iam=mode == "iam",
            bearer_token=env.get("BATON_API_TOKEN") or None,
            **options,
        )

    def register_task_defs(self, task_defs: list[dict[str, Any]]) -> None:
        self._request("POST", "/metadata/taskdefs", body=task_defs)

    def register_workflow_def(self, workflow_def: dict[str, Any], overwrite: bool = True) -> None:
        """Create or replace a workflow definition (``PUT /metadata/workflow`` with a one-element array)."""
        self._request("PUT", "/metadata/workflow", query={"overwrite": overwrite}, body=[workflow_def])

    def start_workflow(
        self,
        name: str,
        input: dict[str, Any] | None = None,
        version: int | None = None,
        correlation_id: str | None = None,
    ) -> str:
        """Start a workflow by name; returns its id. Without ``version`` the latest one runs."""
        query = {"version": version, "correlationId": correlation_id}
        workflow_id = self._request("POST", f"/workflow/{_segment(name)}", query=query, body=input or {})
        return str(workflow_id)

    def get_workflow(self, workflow_id: str, include_tasks: bool = True) -> dict[str, Any]:
        query = {"includeTasks": include_tasks}
        workflow = self._request("GET", f"/workflow/{_segment(workflow_id)}", query=query)
        if not isinstance(workflow, dict):
            raise BatonApiError(200, "the answer is not a workflow object", workflow)
        return workflow

    def wait_for_workflow(
        self, workflow_id: str, timeout_s: float = 30.0, poll_interval_s: float = 0.2
    ) -> dict[str, Any]:
        """Poll until the workflow is in a terminal status and return it; ``TimeoutError`` on timeout."""
        deadline = self._clock() + timeout_s
        while True:
            workflow = self.get_workflow(workflow_id)
            if workflow.get("status") in TERMINAL_WORKFLOW_STATUSES:
                return workflow
            if self._clock() >= deadline:
                raise TimeoutError(
                    f"workflow {workflow_id} still {workflow.get('status')} after {timeout_s} s"
                )
            self._sleep(poll_interval_s)

    def terminate_workflow(self, workflow_id: str, reason: str | None = None) -> None:
        self._request("DELETE", f"/workflow/{_segment(workflow_id)}", query={"reason": reason})

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> BatonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        url = self.api_url + path
        params = {key: _query_value(value) for key, value in (query or {}).items() if value is not None}
        if params:
            # %20, not +, for spaces: SigV4's canonical query string wants RFC 3986 encoding
            url += "?" + urlencode(params, quote_via=quote)
        payload = json.dumps(body).encode() if body is not None else None
        request = _Request(method, url, dict(self._headers), payload)
        sent = self._auth.authorize(request, self._send)
        answer = self._send(sent)
        if self._auth.renewed(sent, answer):
            answer = self._send(self._auth.authorize(request, self._send))
        if not 200 <= answer.status < 300:
            raise _error(answer.status, answer.reason, answer.data())
        # Ids come back as text/plain (Conductor); everything else as JSON.
        return answer.data() if "json" in answer.content_type else answer.text

    def _send(self, request: _Request) -> _Answer:
        try:
            response = self._http.request(
                request.method, request.url, body=request.body, headers=request.headers
            )
        except urllib3.exceptions.HTTPError as exc:
            raise BatonApiError(0, f"no answer from {self.api_url}: {exc}") from exc
        return _Answer(
            response.status,
            response.reason,
            response.headers.get("Content-Type") or "",
            response.data.decode("utf-8", errors="replace"),
        )


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True)
class _Answer:
    status: int
    reason: str | None
    content_type: str
    text: str

    def data(self) -> Any:
        return _parse(self.text)


_Send = Callable[[_Request], _Answer]


class _Auth:
    """No credentials (``AuthMode`` NONE), and the interface of the strategies below."""

    def authorize(self, request: _Request, send: _Send) -> _Request:
        """``request`` as it goes out; ``send`` reaches the server unauthorized (to fetch a token)."""
        return request

    def renewed(self, sent: _Request, answer: _Answer) -> bool:
        """True when ``answer`` refused ``sent``'s credentials and new ones are due: send it once more."""
        return False


class _TokenAuth(_Auth):
    """``AuthMode`` KEY: an API key traded for tokens at ``/api/token``; see the module docstring."""

    def __init__(self, token_url: str, key_id: str, key_secret: str, clock: Callable[[], float]) -> None:
        self._token_url = token_url
        self._key = json.dumps({"keyId": key_id, "keySecret": key_secret}).encode()
        self._clock = clock
        # held while fetching, so that threads sharing the client fetch one token, not one each
        self._lock = threading.Lock()
        self._token: str | None = None
        self._fetched_at = 0.0
        self._open = False  # /api/token answered 404: the server takes requests without a token

    def authorize(self, request: _Request, send: _Send) -> _Request:
        with self._lock:
            stale = self._token is None or self._clock() - self._fetched_at >= TOKEN_RENEWAL_S
            if stale and not self._open:
                self._fetch(request, send)
            token = self._token
        if token is None:
            return request
        return replace(request, headers={**request.headers, TOKEN_HEADER: token})

    def renewed(self, sent: _Request, answer: _Answer) -> bool:
        if answer.status != 401:
            return False
        data = answer.data()
        if not isinstance(data, dict) or data.get("error") not in RENEW_TOKEN_ERRORS:
            return False
        with self._lock:
            if self._token == sent.headers.get(TOKEN_HEADER):  # else another thread has renewed it already
                self._token, self._open = None, False
        return True

    def _fetch(self, request: _Request, send: _Send) -> None:
        fetched_at = self._clock()
        answer = send(replace(request, method="POST", url=self._token_url, body=self._key))
        if answer.status == 404:
            self._token, self._open = None, True
            return
        data = answer.data()
        if not 200 <= answer.status < 300:
            raise _error(answer.status, answer.reason, data)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise BatonApiError(answer.status, f"no token in the answer of {self._token_url}", data)
        self._token, self._fetched_at = token, fetched_at


class _SigV4Auth(_Auth):
    """``AuthMode`` IAM: API Gateway's AWS_IAM authorizer checks a SigV4 signature for ``execute-api``."""

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def authorize(self, request: _Request, send: _Send) -> _Request:
        signed = AWSRequest(request.method, request.url, headers=request.headers, data=request.body)
        # frozen per request: refreshable credentials renew themselves here when they are about to expire
        SigV4Auth(self._credentials.get_frozen_credentials(), "execute-api", self._region).add_auth(signed)
        return replace(request, headers=dict(signed.headers.items()))


class _BearerAuth(_Auth):
    """``AuthMode`` JWT: API Gateway's JWT authorizer reads ``Authorization: Bearer <jwt>``."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._token = token

    def authorize(self, request: _Request, send: _Send) -> _Request:
        token = self._token() if callable(self._token) else self._token
        return replace(request, headers={**request.headers, "Authorization": f"Bearer {token}"})


def _auth_for(
    api_url: str,
    api_key: tuple[str, str] | None,
    aws_iam: bool | Credentials,
    region: str | None,
    bearer_token: str | Callable[[], str] | None,
    clock: Callable[[], float],
) -> _Auth:
    chosen = [
        name
        for name, value in [("api_key", api_key), ("aws_iam", aws_iam), ("bearer_token", bearer_token)]
        if value
    ]
    if len(chosen) > 1:
        raise ValueError(f"pick one way to authenticate, not {' and '.join(chosen)}")
    if region and not aws_iam:
        raise ValueError("region= is only used to sign requests (aws_iam=)")
    if api_key:
        key_id, key_secret = api_key
        if not key_id or not key_secret:
            raise ValueError("api_key= needs both a key id and a secret")
        return _TokenAuth(f"{api_url}/token", key_id, key_secret, clock)
    if aws_iam:
        return _sigv4_auth(api_url, aws_iam, region)
    if bearer_token:
        return _BearerAuth(bearer_token)
    return _Auth()


def _sigv4_auth(api_url: str, aws_iam: bool | Credentials, region: str | None) -> _SigV4Auth:
    session = boto3.session.Session()
    credentials = session.get_credentials() if aws_iam is True else aws_iam
    if not isinstance(credentials, Credentials):
        raise ValueError("aws_iam=: no AWS credentials found (environment, profile or role)")
    region = region or _execute_api_region(api_url) or session.region_name
    if not region:
        raise ValueError(
            "aws_iam=: no region to sign for: pass region=, use the https://<id>.execute-api.<region>"
            ".amazonaws.com URL or configure a default AWS region"
        )
    return _SigV4Auth(credentials, region)


def _execute_api_region(api_url: str) -> str | None:
    match = _EXECUTE_API_HOST.match(urlsplit(api_url).hostname or "")
    return match.group(1) if match else None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _query_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parse(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _error(status: int, reason: str | None, data: Any) -> BatonApiError:
    if isinstance(data, dict) and data.get("message"):
        message = str(data["message"])
    else:
        message = data if isinstance(data, str) and data else (reason or "error")
    return BatonApiError(status, message, data)
