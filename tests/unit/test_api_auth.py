"""Tokens for conductor-python's API-key auth: issued for the right key only, valid for an hour, and
rejected with the error code that makes the SDK fetch a new one."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from batonflow.api.auth import EXPIRED_TOKEN, INVALID_TOKEN, TOKEN_TTL_S, TokenAuthority, token_authority
from batonflow.config import Settings
from batonflow.errors import UnauthorizedError
from tests.support.clock import T0, FakeClock

KEY_ID, SECRET = "ci-key", "s3cret-of-ci-key"


def authority(clock: FakeClock, key_id: str = KEY_ID, secret: str = SECRET) -> TokenAuthority:
    return TokenAuthority(key_id, secret, clock)


def rejection(check, *args) -> UnauthorizedError:
    with pytest.raises(UnauthorizedError) as raised:
        check(*args)
    assert raised.value.status == 401
    return raised.value


def test_the_right_key_gets_a_token_that_verifies():
    clock = FakeClock()
    tokens = authority(clock)

    token = tokens.exchange(KEY_ID, SECRET)

    tokens.verify(token)
    payload = token.rpartition(".")[0]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims == {"kid": KEY_ID, "exp": T0 // 1000 + TOKEN_TTL_S}
    assert SECRET not in token


@pytest.mark.parametrize(
    ("key_id", "secret"),
    [(KEY_ID, "wrong"), ("other-key", SECRET), ("", ""), (None, SECRET), (KEY_ID, 42)],
)
def test_a_wrong_key_gets_no_token_and_no_code_that_would_make_the_sdk_retry(key_id, secret):
    error = rejection(authority(FakeClock()).exchange, key_id, secret)

    assert error.code is None
    assert "Invalid key id or key secret" in error.message


def test_a_token_is_valid_for_an_hour_then_expired():
    clock = FakeClock()
    tokens = authority(clock)
    token = tokens.issue()

    clock.advance(TOKEN_TTL_S - 0.001)
    tokens.verify(token)
    clock.advance(0.001)

    assert rejection(tokens.verify, token).code == EXPIRED_TOKEN
    tokens.verify(tokens.issue())


@pytest.mark.parametrize(
    "token",
    [None, "", "no-dot", "a.b", "." + "x" * 43, "é.é"],
)
def test_missing_and_malformed_tokens_are_invalid(token):
    assert rejection(authority(FakeClock()).verify, token).code == INVALID_TOKEN


def test_a_tampered_token_is_invalid():
    tokens = authority(FakeClock())
    payload, _, signature = tokens.issue().rpartition(".")
    claims = {"kid": KEY_ID, "exp": T0 // 1000 + 10 * TOKEN_TTL_S}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    assert rejection(tokens.verify, f"{forged}.{signature}").code == INVALID_TOKEN
    assert rejection(tokens.verify, f"{payload}.{signature[:-2]}").code == INVALID_TOKEN


def test_changing_the_secret_or_the_key_id_invalidates_issued_tokens():
    clock = FakeClock()
    token = authority(clock).issue()

    assert rejection(authority(clock, secret="rotated-secret").verify, token).code == INVALID_TOKEN
    assert rejection(authority(clock, key_id="new-key").verify, token).code == INVALID_TOKEN


def test_auth_is_off_without_a_key_and_a_half_configured_key_is_refused():
    settings = Settings(
        table="t", queue_prefix="p-", decider_queue_url="d", results_queue_url="r", timer_queue_url="q"
    )

    assert token_authority(settings, FakeClock()) is None
    assert isinstance(token_authority(_with(settings, KEY_ID, SECRET), FakeClock()), TokenAuthority)
    with pytest.raises(ValueError, match="both"):
        token_authority(_with(settings, KEY_ID, ""), FakeClock())
    with pytest.raises(ValueError, match="both"):
        token_authority(_with(settings, "", SECRET), FakeClock())
    assert SECRET not in repr(_with(settings, KEY_ID, SECRET))


def _with(settings: Settings, key_id: str, secret: str) -> Settings:
    return replace(settings, api_key_id=key_id, api_key_secret=secret)
