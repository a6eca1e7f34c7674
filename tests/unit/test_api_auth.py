"""Tokens for conductor-python's API-key auth: issued for a stored key only, valid for an hour, rejected
with the error code that makes the SDK fetch a new one, and dead within a minute of the key's revocation."""

from __future__ import annotations

import base64
import json

import pytest

from batonflow.api.auth import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    KEY_CACHE_S,
    TOKEN_TTL_S,
    TokenAuthority,
    token_authority,
)
from batonflow.config import AuthMode, Settings
from batonflow.errors import UnauthorizedError
from batonflow.store.app_keys import AppKey, AppKeyError, new_key
from tests.support.clock import T0, FakeClock

KEY_ID, SECRET = "ci-key", "s3cret-of-ci-key"


class MemoryKeys:
    """The key source in memory, counting reads (each is a GetItem in a function)."""

    def __init__(self, *keys: AppKey) -> None:
        self.keys = {key.key_id: key for key in keys}
        self.reads = 0

    def get(self, key_id: str) -> AppKey | None:
        self.reads += 1
        return self.keys.get(key_id)


def authority(clock: FakeClock, keys: MemoryKeys | None = None) -> TokenAuthority:
    return TokenAuthority(keys or MemoryKeys(new_key(KEY_ID, SECRET, T0)), clock)


def rejection(check, *args) -> UnauthorizedError:
    with pytest.raises(UnauthorizedError) as raised:
        check(*args)
    assert raised.value.status == 401
    return raised.value


def claims_of(token: str) -> dict:
    payload = token.rpartition(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_right_key_gets_a_token_that_verifies():
    tokens = authority(FakeClock())

    token = tokens.exchange(KEY_ID, SECRET)

    tokens.verify(token)
    assert claims_of(token) == {"kid": KEY_ID, "exp": T0 // 1000 + TOKEN_TTL_S}
    assert SECRET not in token


def test_only_a_hash_of_the_secret_is_kept():
    key = new_key(KEY_ID, SECRET, T0)

    assert SECRET.encode() not in key.secret_hash and len(key.salt) == 16
    assert key.matches(SECRET) and not key.matches(SECRET + "x")
    assert new_key(KEY_ID, SECRET, T0).secret_hash != key.secret_hash  # salted


@pytest.mark.parametrize(("key_id", "secret"), [("has space", SECRET), ("", SECRET), (KEY_ID, "short")])
def test_malformed_key_ids_and_short_secrets_are_refused(key_id: str, secret: str):
    with pytest.raises(AppKeyError):
        new_key(key_id, secret, T0)


@pytest.mark.parametrize(
    ("key_id", "secret"),
    [(KEY_ID, "wrong"), ("other-key", SECRET), ("", ""), (None, SECRET), (KEY_ID, 42), ("../x", SECRET)],
)
def test_a_wrong_key_gets_no_token_and_no_code_that_would_make_the_sdk_retry(key_id, secret):
    error = rejection(authority(FakeClock()).exchange, key_id, secret)

    assert error.code is None
    assert "Invalid key id or key secret" in error.message


def test_a_token_is_valid_for_an_hour_then_expired():
    clock = FakeClock()
    tokens = authority(clock)
    token = tokens.exchange(KEY_ID, SECRET)

    clock.advance(TOKEN_TTL_S - 0.001)
    tokens.verify(token)
    clock.advance(0.001)

    assert rejection(tokens.verify, token).code == EXPIRED_TOKEN
    tokens.verify(tokens.exchange(KEY_ID, SECRET))


@pytest.mark.parametrize(
    "token",
    [None, "", "no-dot", "a.b", "." + "x" * 43, "é.é", "bnVsbA.x", "WzFd.x", "eyJraWQiOiIifQ.x"],
)
def test_missing_and_malformed_tokens_are_invalid(token):
    assert rejection(authority(FakeClock()).verify, token).code == INVALID_TOKEN


def test_a_tampered_token_is_invalid():
    tokens = authority(FakeClock())
    payload, _, signature = tokens.exchange(KEY_ID, SECRET).rpartition(".")
    claims = {"kid": KEY_ID, "exp": T0 // 1000 + 10 * TOKEN_TTL_S}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    assert rejection(tokens.verify, f"{forged}.{signature}").code == INVALID_TOKEN
    assert rejection(tokens.verify, f"{payload}.{signature[:-2]}").code == INVALID_TOKEN


def test_a_key_is_read_at_most_once_a_minute_and_its_revocation_ends_its_tokens_within_that_minute():
    clock = FakeClock()
    keys = MemoryKeys(new_key(KEY_ID, SECRET, T0))
    tokens = authority(clock, keys)
    token = tokens.exchange(KEY_ID, SECRET)
    reads = keys.reads

    for _ in range(100):
        tokens.verify(token)
    assert keys.reads == reads  # the exchange's read serves the next minute

    del keys.keys[KEY_ID]
    clock.advance(KEY_CACHE_S - 1)
    tokens.verify(token)
    clock.advance(1)
    assert rejection(tokens.verify, token).code == INVALID_TOKEN
    assert keys.reads == reads + 1


def test_a_key_created_again_with_a_new_secret_invalidates_the_old_tokens():
    clock = FakeClock()
    keys = MemoryKeys(new_key(KEY_ID, SECRET, T0))
    token = authority(clock, keys).exchange(KEY_ID, SECRET)

    keys.keys[KEY_ID] = new_key(KEY_ID, "a-brand-new-secret", T0)

    assert rejection(authority(clock, keys).verify, token).code == INVALID_TOKEN


def test_tokens_are_checked_in_key_mode_only():
    settings = Settings(
        table="t", queue_prefix="p-", decider_queue_url="d", results_queue_url="r", timer_queue_url="q"
    )

    assert settings.auth_mode == AuthMode.NONE
    for mode in (AuthMode.NONE, AuthMode.IAM, AuthMode.JWT):
        assert (
            token_authority(Settings(**{**vars(settings), "auth_mode": mode}), MemoryKeys(), FakeClock())
            is None
        )
    keyed = Settings(**{**vars(settings), "auth_mode": AuthMode.KEY})
    assert isinstance(token_authority(keyed, MemoryKeys(), FakeClock()), TokenAuthority)
