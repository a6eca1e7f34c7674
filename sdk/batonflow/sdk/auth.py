"""How the REST client proves who it is, one strategy per ``AuthMode`` (see :mod:`batonflow.sdk.client`)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from batonflow.sdk.wire import Answer, BatonApiError, Request, Send, api_error

TOKEN_HEADER = "X-Authorization"
TOKEN_RENEWAL_S = 45 * 60
"""A token is renewed once this old, as conductor-python does; the server honours it for an hour."""
RENEW_TOKEN_ERRORS = frozenset({"EXPIRED_TOKEN", "INVALID_TOKEN"})
_EXECUTE_API_HOST = re.compile(r"^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


class Auth:
    """No credentials (``AuthMode`` NONE), and the interface of the strategies below."""

    def authorize(self, request: Request, send: Send) -> Request:
        """``request`` as it goes out; ``send`` reaches the server unauthorized (to fetch a token)."""
        return request

    def renewed(self, sent: Request, answer: Answer) -> bool:
        """True when ``answer`` refused ``sent``'s credentials and new ones are due: send it once more."""
        return False


class _TokenAuth(Auth):
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

    def authorize(self, request: Request, send: Send) -> Request:
        with self._lock:
            stale = self._token is None or self._clock() - self._fetched_at >= TOKEN_RENEWAL_S
            if stale and not self._open:
                self._fetch(request, send)
            token = self._token
        if token is None:
            return request
        return replace(request, headers={**request.headers, TOKEN_HEADER: token})

    def renewed(self, sent: Request, answer: Answer) -> bool:
        if answer.status != 401:
            return False
        data = answer.data()
        if not isinstance(data, dict) or data.get("error") not in RENEW_TOKEN_ERRORS:
            return False
        with self._lock:
            if self._token == sent.headers.get(TOKEN_HEADER):  # else another thread has renewed it already
                self._token, self._open = None, False
        return True

    def _fetch(self, request: Request, send: Send) -> None:
        fetched_at = self._clock()
        answer = send(replace(request, method="POST", url=self._token_url, body=self._key))
        if answer.status == 404:
            self._token, self._open = None, True
            return
        data = answer.data()
        if not 200 <= answer.status < 300:
            raise api_error(answer.status, answer.reason, data)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise BatonApiError(answer.status, f"no token in the answer of {self._token_url}", data)
        self._token, self._fetched_at = token, fetched_at


class _SigV4Auth(Auth):
    """``AuthMode`` IAM: API Gateway's AWS_IAM authorizer checks a SigV4 signature for ``execute-api``."""

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def authorize(self, request: Request, send: Send) -> Request:
        signed = AWSRequest(request.method, request.url, headers=request.headers, data=request.body)
        # frozen per request: refreshable credentials renew themselves here when they are about to expire
        SigV4Auth(self._credentials.get_frozen_credentials(), "execute-api", self._region).add_auth(signed)
        return replace(request, headers=dict(signed.headers.items()))


class _BearerAuth(Auth):
    """``AuthMode`` JWT: API Gateway's JWT authorizer reads ``Authorization: Bearer <jwt>``."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._token = token

    def authorize(self, request: Request, send: Send) -> Request:
        token = self._token() if callable(self._token) else self._token
        return replace(request, headers={**request.headers, "Authorization": f"Bearer {token}"})


def auth_for(
    api_url: str,
    api_key: tuple[str, str] | None,
    aws_iam: bool | Credentials,
    region: str | None,
    bearer_token: str | Callable[[], str] | None,
    clock: Callable[[], float],
) -> Auth:
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
    return Auth()


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
