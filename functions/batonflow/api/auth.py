"""API keys the way conductor-python uses them: ``POST /api/token`` and the ``X-Authorization`` header.

Off unless the stack has an API key (template parameters ``ApiKeyId``/``ApiKeySecret``, ``baton up
--api-key-id/--api-key-secret``). Off, there is no ``/api/token`` route: it answers 404 like any unknown
route, and conductor-python takes that as "open mode" and never asks again (python-sdk-wire.md §2).

On, the SDK sends ``{"keyId", "keySecret"}`` to ``/api/token`` once and then the token on every request in
``X-Authorization``. The token is stateless — ``base64url(claims) "." base64url(HMAC-SHA256(claims))``
with the claims ``{"kid": key id, "exp": epoch seconds}`` and a signing key derived from the secret — so
checking it costs one HMAC and no DynamoDB or Secrets Manager call per request. It is valid for an hour;
the SDK renews it after 45 minutes. Changing the key id or the secret invalidates every token issued, and
the SDK fetches a new one on its next request (``INVALID_TOKEN``).

The check is a resolver middleware (``app.use``), so it runs for every route, the not-found handler
included: without a token, an unknown path answers 401, not 404, and the route table is not probed.
Only ``/api/token`` and the health checks are open.

Error codes matter to the SDK: it renews its token and retries once only when a 401 body says
``"error": "EXPIRED_TOKEN"`` or ``"INVALID_TOKEN"``. A bad key at ``/api/token`` must *not* carry either
code: the SDK fetches its tokens through the same retrying call, and would recurse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from batonflow.api.params import json_body
from batonflow.api.responses import json_response
from batonflow.clock import Clock
from batonflow.config import Settings
from batonflow.errors import BadRequestError, UnauthorizedError

TOKEN_PATH = "/api/token"
OPEN_PATHS = frozenset({TOKEN_PATH, "/health", "/api/health"})
"""Paths served without a token: the token exchange itself and the health checks."""
TOKEN_HEADER = "X-Authorization"
TOKEN_TTL_S = 3600
EXPIRED_TOKEN = "EXPIRED_TOKEN"
INVALID_TOKEN = "INVALID_TOKEN"
_SIGNING_KEY_CONTEXT = b"baton-api-token-v1"


class TokenAuthority:
    """Exchanges the API key for tokens and checks them; ``clock`` is epoch milliseconds."""

    def __init__(self, key_id: str, key_secret: str, clock: Clock, *, ttl_s: int = TOKEN_TTL_S) -> None:
        if not key_id or not key_secret:
            raise ValueError("an API key needs both a key id and a key secret")
        self._key_id = key_id
        self._key_secret = key_secret
        self._signing_key = hmac.new(key_secret.encode(), _SIGNING_KEY_CONTEXT, hashlib.sha256).digest()
        self._clock = clock
        self._ttl_s = ttl_s

    def exchange(self, key_id: Any, key_secret: Any) -> str:
        """A new token for the right key id and secret; 401 (without a token error code) otherwise."""
        if not isinstance(key_id, str) or not isinstance(key_secret, str):
            raise UnauthorizedError("Invalid key id or key secret")
        # both compared, always: which of the two was wrong does not show in the timing
        id_matches = hmac.compare_digest(key_id.encode(), self._key_id.encode())
        secret_matches = hmac.compare_digest(key_secret.encode(), self._key_secret.encode())
        if not (id_matches and secret_matches):
            raise UnauthorizedError("Invalid key id or key secret")
        return self.issue()

    def issue(self) -> str:
        claims = {"kid": self._key_id, "exp": self._clock() // 1000 + self._ttl_s}
        payload = _encode(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._signature(payload)}"

    def verify(self, token: str | None) -> None:
        """Raises :class:`UnauthorizedError` with ``INVALID_TOKEN`` or ``EXPIRED_TOKEN`` unless valid."""
        if not token:
            raise UnauthorizedError(f"Missing {TOKEN_HEADER} header", INVALID_TOKEN)
        payload, _, signature = token.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._signature(payload).encode()):
            raise UnauthorizedError("Invalid token", INVALID_TOKEN)
        claims = json.loads(_decode(payload))  # signed by us, so well-formed
        if claims.get("kid") != self._key_id:
            raise UnauthorizedError("Invalid token: issued for another API key", INVALID_TOKEN)
        if self._clock() >= claims["exp"] * 1000:
            raise UnauthorizedError("Token expired", EXPIRED_TOKEN)

    def _signature(self, payload: str) -> str:
        return _encode(hmac.new(self._signing_key, payload.encode(), hashlib.sha256).digest())


def token_authority(settings: Settings, clock: Clock) -> TokenAuthority | None:
    """The stack's authority, or None when auth is off (no key id and no secret)."""
    if not settings.api_key_id and not settings.api_key_secret:
        return None
    return TokenAuthority(settings.api_key_id, settings.api_key_secret, clock)


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
        if app.current_event.path not in OPEN_PATHS:
            authority.verify(app.current_event.headers.get(TOKEN_HEADER))
        return next_middleware(app)

    return require_token


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
