"""API keys the way conductor-python uses them: ``POST /api/token`` and the ``X-Authorization`` header.

On with ``AuthMode=KEY`` (the template's default; ``baton up --api-key-id/--api-key-secret`` locally).
Otherwise there is no ``/api/token`` route: it answers 404 like any unknown route, and conductor-python
takes that as "open mode" and never asks again (python-sdk-wire.md §2). With ``IAM`` and ``JWT``, API
Gateway checks every request before it reaches the function.

On, the SDK sends ``{"keyId", "keySecret"}`` to ``/api/token`` once and then the token on every request in
``X-Authorization``. Keys are application keys stored hashed in the table (``batonflow.store.app_keys``).
The token is ``base64url(claims) "." base64url(HMAC-SHA256(claims))`` with the claims ``{"kid": key id,
"exp": epoch seconds}``, signed with a key derived from the stored hash, which never leaves the table.
Checking a token costs one HMAC and, at most once a minute per function instance and key, a GetItem of
the key (``KEY_CACHE_S``): a revoked key's tokens stop working within that minute, a key created again
with a new secret invalidates the old tokens at once. A token is valid for an hour; the SDK renews it
after 45 minutes, and on ``INVALID_TOKEN``/``EXPIRED_TOKEN`` fetches a new one.

The check is a resolver middleware (``app.use``), so it runs for every route, the not-found handler
included: without a token, an unknown path answers 401, not 404, and the route table is not probed.
Only ``/api/token``, the health checks and the web console's static files (``/`` and ``/console/...``,
the same for everyone; the page asks for a token when ``/api`` answers 401) are open.

Error codes matter to the SDK: it renews its token and retries once only when a 401 body says
``"error": "EXPIRED_TOKEN"`` or ``"INVALID_TOKEN"``. A bad key at ``/api/token`` must *not* carry either
code: the SDK fetches its tokens through the same retrying call, and would recurse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from batonflow.api.params import json_body
from batonflow.api.responses import json_response
from batonflow.clock import Clock
from batonflow.config import AuthMode, Settings
from batonflow.errors import BadRequestError, UnauthorizedError
from batonflow.store.app_keys import PBKDF2_ITERATIONS, AppKey, is_key_id

TOKEN_PATH = "/api/token"
OPEN_PATHS = frozenset({TOKEN_PATH, "/health", "/api/health", "/"})
"""Paths served without a token: the token exchange, the health checks and the console's page."""
OPEN_PREFIX = "/console/"
"""The console's scripts and styles, also served without a token."""
TOKEN_HEADER = "X-Authorization"
TOKEN_TTL_S = 3600
KEY_CACHE_S = 60
"""How long a function instance trusts what it read of a key (found or not) before reading it again."""
_KEY_CACHE_LIMIT = 1024
EXPIRED_TOKEN = "EXPIRED_TOKEN"
INVALID_TOKEN = "INVALID_TOKEN"
_SIGNING_KEY_CONTEXT = b"baton-api-token-v1"
_DECOY_SALT = secrets.token_bytes(16)


class KeySource(Protocol):
    """Where the authority reads keys: ``batonflow.store.app_keys.AppKeyStore`` in a function."""

    def get(self, key_id: str) -> AppKey | None: ...


class TokenAuthority:
    """Exchanges application keys for tokens and checks them; ``clock`` is epoch milliseconds."""

    def __init__(self, keys: KeySource, clock: Clock, *, ttl_s: int = TOKEN_TTL_S) -> None:
        self._keys = keys
        self._clock = clock
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[AppKey | None, int]] = {}

    def exchange(self, key_id: Any, key_secret: Any) -> str:
        """A new token for a stored key id and its secret; 401 (without a token error code) otherwise."""
        key = self._keys.get(key_id) if is_key_id(key_id) else None
        secret = key_secret if isinstance(key_secret, str) else ""
        if key is None:
            # hash anyway: whether the key id exists does not show in the timing
            hashlib.pbkdf2_hmac("sha256", secret.encode(), _DECOY_SALT, PBKDF2_ITERATIONS)
            raise UnauthorizedError("Invalid key id or key secret")
        if not key.matches(secret):
            raise UnauthorizedError("Invalid key id or key secret")
        self._cache[key.key_id] = (key, self._clock())
        claims = {"kid": key.key_id, "exp": self._clock() // 1000 + self._ttl_s}
        payload = _encode(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{_signature(key, payload)}"

    def verify(self, token: str | None) -> None:
        """Raises :class:`UnauthorizedError` with ``INVALID_TOKEN`` or ``EXPIRED_TOKEN`` unless valid."""
        if not token:
            raise UnauthorizedError(f"Missing {TOKEN_HEADER} header", INVALID_TOKEN)
        payload, _, signature = token.rpartition(".")
        claims = _claims(payload)
        key_id = claims.get("kid")
        key = self._key(key_id) if is_key_id(key_id) else None
        if key is None or not hmac.compare_digest(signature.encode(), _signature(key, payload).encode()):
            raise UnauthorizedError("Invalid token", INVALID_TOKEN)
        expires = claims.get("exp")
        if not isinstance(expires, int) or self._clock() >= expires * 1000:
            raise UnauthorizedError("Token expired", EXPIRED_TOKEN)

    def _key(self, key_id: str) -> AppKey | None:
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[1] < KEY_CACHE_S * 1000:
            return cached[0]
        if len(self._cache) >= _KEY_CACHE_LIMIT:  # ids come from callers: keep the memory bounded
            self._cache.clear()
        key = self._keys.get(key_id)
        self._cache[key_id] = (key, now)
        return key


def _claims(payload: str) -> dict[str, Any]:
    """The claims of an unverified token, or ``{}``: whatever a caller sent, it is checked next."""
    try:
        claims = json.loads(_decode(payload))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def _signature(key: AppKey, payload: str) -> str:
    signing_key = hmac.new(key.secret_hash, _SIGNING_KEY_CONTEXT, hashlib.sha256).digest()
    return _encode(hmac.new(signing_key, payload.encode(), hashlib.sha256).digest())


def token_authority(settings: Settings, keys: KeySource, clock: Clock) -> TokenAuthority | None:
    """The stack's authority, or None unless ``AuthMode=KEY``."""
    return TokenAuthority(keys, clock) if settings.auth_mode == AuthMode.KEY else None


def token_router(authority: TokenAuthority) -> Router:
    router = Router()

    @router.post(TOKEN_PATH)
    def token() -> Response:
        body = json_body(router, default={})
        if not isinstance(body, dict):
            raise BadRequestError('The request body must be {"keyId": ..., "keySecret": ...}')
        return json_response({"token": authority.exchange(body.get("keyId"), body.get("keySecret"))})

    return router


def token_check(authority: TokenAuthority) -> Callable[[BaseRouter, NextMiddleware], Response]:
    """The resolver middleware that rejects requests without a valid token (see the module docstring)."""

    def require_token(app: BaseRouter, next_middleware: NextMiddleware) -> Response:
        if not is_open_path(app.current_event.path):
            authority.verify(app.current_event.headers.get(TOKEN_HEADER))
        return next_middleware(app)

    return require_token


def is_open_path(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIX)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
