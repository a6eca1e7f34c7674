"""Application keys for ``AuthMode=KEY``: key ids with a hashed secret, in the stack's table.

A key is one item in a partition of its own (``PK = "APPKEYS"``, ``SK`` = key id), so listing the keys is
one Query and checking one is a GetItem; no request path scans anything. The secret itself is never
stored: only a salted PBKDF2-HMAC-SHA256 hash with its salt and iteration count (kept per key, so the
count can be raised for new keys without breaking old ones). Revoking a key deletes its item.

Keys are created by operators (``baton keys create``, ``baton up --api-key-id``), not by the API: the
API function only reads them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from batonflow.store.attrs import Item, get_n, get_s, n, s

KEYS_PK = "APPKEYS"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
"""What a key id may be: printable, short, safe in a log line and as a DynamoDB key."""
PBKDF2_ITERATIONS = 100_000
"""Hashing cost of a new key's secret. Generated secrets carry 256 random bits, so the cost only matters
for secrets people chose (``baton up --api-key-secret``); it is paid once per token, not per request."""
MIN_SECRET_LENGTH = 16


class AppKeyError(ValueError):
    """A key that cannot be created: a malformed id or secret, or an id already in use."""


@dataclass(frozen=True)
class AppKey:
    key_id: str
    salt: bytes
    iterations: int
    secret_hash: bytes
    created_at: int
    """Epoch milliseconds."""

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(_hash(secret, self.salt, self.iterations), self.secret_hash)


def _hash(secret: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)


def new_key(key_id: str, secret: str, now: int) -> AppKey:
    """A key with ``secret`` hashed under a fresh salt; AppKeyError for an id or secret not allowed."""
    if not is_key_id(key_id):
        raise AppKeyError(f"Key id {key_id!r} must be 1-128 letters, digits, '_', '.' or '-'")
    if len(secret) < MIN_SECRET_LENGTH:
        raise AppKeyError(f"A key secret needs at least {MIN_SECRET_LENGTH} characters")
    salt = secrets.token_bytes(16)
    return AppKey(key_id, salt, PBKDF2_ITERATIONS, _hash(secret, salt, PBKDF2_ITERATIONS), now)


def is_key_id(value: object) -> bool:
    return isinstance(value, str) and KEY_ID_PATTERN.fullmatch(value) is not None


class AppKeyStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, now: int, key_id: str | None = None, secret: str | None = None) -> tuple[str, str]:
        """Store a new key and return ``(key id, secret)``; both are generated unless given. The secret
        is returned this once: only its hash is kept."""
        key_id = key_id or f"baton-{secrets.token_hex(8)}"
        secret = secret or secrets.token_urlsafe(32)
        key = new_key(key_id, secret, now)
        item: Item = {
            "PK": s(KEYS_PK),
            "SK": s(key.key_id),
            "salt": {"B": key.salt},
            "iterations": n(key.iterations),
            "secretHash": {"B": key.secret_hash},
            "createdAt": n(key.created_at),
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(SK)"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise AppKeyError(f"Key id {key_id} is in use; revoke it first") from error
            raise
        return key_id, secret

    def ensure(self, now: int, key_id: str, secret: str) -> None:
        """Create the key unless it is stored already with this secret (a local stack started again on a
        table it used before); AppKeyError if the id is in use with another secret."""
        existing = self.get(key_id)
        if existing is None:
            self.create(now, key_id, secret)
        elif not existing.matches(secret):
            raise AppKeyError(f"Key id {key_id} is in use with another secret; revoke it first")

    def get(self, key_id: str) -> AppKey | None:
        if not is_key_id(key_id):
            return None
        response = self._client.get_item(TableName=self._table, Key={"PK": s(KEYS_PK), "SK": s(key_id)})
        item = response.get("Item")
        return None if item is None else _key_from_item(item)

    def list(self) -> list[AppKey]:
        keys: list[AppKey] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": s(KEYS_PK)},
        }
        while True:
            response = self._client.query(**kwargs)
            keys.extend(_key_from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return keys
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def revoke(self, key_id: str) -> bool:
        """Delete the key; False if there was none. Its tokens stop working within the API's key cache
        lifetime (``batonflow.api.auth.KEY_CACHE_S``)."""
        if not is_key_id(key_id):
            return False
        response = self._client.delete_item(
            TableName=self._table, Key={"PK": s(KEYS_PK), "SK": s(key_id)}, ReturnValues="ALL_OLD"
        )
        return "Attributes" in response


def _key_from_item(item: Item) -> AppKey:
    return AppKey(
        key_id=get_s(item, "SK") or "",
        salt=bytes(item["salt"]["B"]),
        iterations=get_n(item, "iterations"),
        secret_hash=bytes(item["secretHash"]["B"]),
        created_at=get_n(item, "createdAt"),
    )
