"""Large payloads in S3: an input, output or variables map whose JSON is over the threshold is stored as an
object, and the item or message that would have held it holds a small reference instead.

Reference (what DynamoDB items, task and result messages carry in place of the map)::

    {"$batonPayload": {"key": "payloads/<workflowId>/<sha256 of the JSON>.json.gz", "size": <JSON bytes>}}

A map is a reference when its only key is :data:`MARKER`: a user payload made of exactly that one key is not
expected in practice. The object is the compact JSON (``separators=(",", ":")``, UTF-8), gzipped.

Why content addressing: the key is a function of the bytes, so a redelivered result or a decide that runs
twice writes the same object again (idempotent, never a second copy), and an object never changes, so each
process caches resolved payloads by key (a bounded LRU, by JSON size): the decider, which loads every task
on every decide, downloads a payload once per container, not once per decide. A key that is cached (this
process wrote or read it) is not written again.

Where: the execution store offloads what it writes (workflow input, output, variables; task input and
output) and resolves what it reads, so ``decide()`` and the API see plain maps; dispatch offloads a task
message's input, the SDK resolves it before calling the function and offloads its output before sending
the result. Below the threshold nothing here calls S3. Objects live under the workflow's prefix, so a
removed or expired workflow's payloads go with it (``delete_owner``); there is no lifecycle rule, since
workflows may be kept forever.

The hard limit (:data:`MAX_PAYLOAD_BYTES`, 10 MB of JSON) is checked where payloads enter: a workflow
start (413) and a worker's result (the task fails with FAILED_WITH_TERMINAL_ERROR). Values the engine
computes (a JOIN's output, a workflow output) are stored whatever their size.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from batonflow.errors import BadRequestError, PayloadTooLargeError

MARKER = "$batonPayload"
PREFIX = "payloads/"
THRESHOLD_ENV = "BATON_PAYLOAD_THRESHOLD"
DEFAULT_THRESHOLD = 65536
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
"""Hard limit on one payload's compact JSON (as Conductor's ``max*PayloadSizeThreshold``: 10240 KB)."""
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
_DELETE_BATCH = 1000


def is_reference(value: object) -> bool:
    """Whether ``value`` is a reference to a stored payload rather than a payload."""
    return isinstance(value, dict) and len(value) == 1 and MARKER in value


def owner_prefix(owner: str) -> str:
    """Where the payloads of one workflow live."""
    return f"{PREFIX}{owner}/"


def encode(value: Any) -> bytes:
    """A payload's compact JSON, as stored and measured."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def too_large(size: int, limit: int = MAX_PAYLOAD_BYTES) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"payload is {size} bytes, over the {limit}-byte limit (JSON, compact)")


class Payloads:
    """Offloads payloads over ``threshold`` bytes to ``bucket`` and resolves references, caching by key.

    ``s3`` makes the S3 client, on first use: a process whose payloads all stay small never builds one.
    Thread-safe (the SDK's task threads share one instance).
    """

    def __init__(
        self,
        s3: Callable[[], Any],
        bucket: str,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self._make_client = s3
        self._client: Any = None
        self.bucket = bucket
        self.threshold = threshold
        self._cache_bytes = cache_bytes
        self._cache: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def offload(self, value: Any, owner: str, *, limit: int | None = None) -> Any:
        """``value`` itself when its JSON is at most the threshold (or it is a reference already, checked
        against ``owner`` and ``limit``), else a reference to it, stored under ``owner``'s prefix.

        ``limit``: raise :class:`PayloadTooLargeError` above it instead of storing (payloads entering from
        outside: a start, a worker's result).
        """
        if not value:
            return value
        if is_reference(value):
            self.check_reference(value, owner, limit=limit)
            return value
        data = encode(value)
        if len(data) <= self.threshold:
            return value
        if limit is not None and len(data) > limit:
            raise too_large(len(data), limit)
        key = f"{owner_prefix(owner)}{hashlib.sha256(data).hexdigest()}.json.gz"
        if not self._cached(key):
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=gzip.compress(data, compresslevel=6),
                ContentType="application/json",
                ContentEncoding="gzip",
            )
            self._remember(key, value, len(data))
        return {MARKER: {"key": key, "size": len(data)}}

    def check_reference(self, reference: dict[str, Any], owner: str, *, limit: int | None) -> None:
        """A reference a worker sent: it must name an object of its own workflow, within ``limit``."""
        body = reference[MARKER]
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key.startswith(owner_prefix(owner)):
            raise BadRequestError(f"payload reference {key!r} is not a payload of workflow {owner}")
        size = body.get("size")
        if limit is not None and (not isinstance(size, int) or size > limit):
            raise too_large(size if isinstance(size, int) else -1, limit)

    def resolve(self, value: Any) -> Any:
        """The payload a reference names (from the cache, else S3); any other value unchanged."""
        if not is_reference(value):
            return value
        key = value[MARKER]["key"]
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit[0]
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        data = gzip.decompress(body)
        resolved = json.loads(data)
        self._remember(key, resolved, len(data))
        return resolved

    def delete_owner(self, owner: str) -> int:
        """Delete every payload of a workflow (idempotent); returns how many objects were deleted."""
        client = self.client
        deleted = 0
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": owner_prefix(owner)}
        while True:
            page = client.list_objects_v2(**kwargs)
            keys = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
            for start in range(0, len(keys), _DELETE_BATCH):
                chunk = keys[start : start + _DELETE_BATCH]
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
                deleted += len(chunk)
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
        with self._lock:
            for key in [key for key in self._cache if key.startswith(owner_prefix(owner))]:
                self._cached_bytes -= self._cache.pop(key)[1]
        return deleted

    def _cached(self, key: str) -> bool:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return True
            return False

    def _remember(self, key: str, value: Any, size: int) -> None:
        """Cache a payload (shared, never changed: callers treat loaded values as read-only)."""
        if size > self._cache_bytes:
            return
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = (value, size)
            self._cached_bytes += size
            while self._cached_bytes > self._cache_bytes:
                _, (_, evicted) = self._cache.popitem(last=False)
                self._cached_bytes -= evicted
