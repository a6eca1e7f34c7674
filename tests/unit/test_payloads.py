"""The payload store's rules, on an in-memory S3: threshold, content addressing, references, the cache."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from typing import Any

import pytest

from batonflow.errors import BadRequestError, PayloadTooLargeError
from batonflow.store.payloads import MARKER, Payloads, encode, is_reference

THRESHOLD = 1024


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.calls: list[str] = []

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.calls.append("put")
        self.objects[f"{Bucket}/{Key}"] = Body

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append("get")
        return {"Body": io.BytesIO(self.objects[f"{Bucket}/{Key}"])}


@pytest.fixture
def s3() -> FakeS3:
    return FakeS3()


def payloads(s3: FakeS3, **options: Any) -> Payloads:
    return Payloads(lambda: s3, "bucket", threshold=THRESHOLD, **options)


def test_a_payload_at_the_threshold_stays_inline_and_costs_nothing(s3: FakeS3):
    made: list[int] = []
    store = Payloads(lambda: made.append(1) or s3, "bucket", threshold=THRESHOLD)
    value = {"a": "x" * (THRESHOLD - len(encode({"a": ""})))}
    assert len(encode(value)) == THRESHOLD

    assert store.offload(value, "wf") is value
    assert store.offload({}, "wf") == {}
    assert made == [] and s3.calls == []


def test_a_payload_over_the_threshold_is_stored_gzipped_at_its_content_address(s3: FakeS3):
    value = {"a": "é" * THRESHOLD}

    reference = payloads(s3).offload(value, "wf-1")

    data = encode(value)
    key = f"payloads/wf-1/{hashlib.sha256(data).hexdigest()}.json.gz"
    assert reference == {MARKER: {"key": key, "size": len(data)}}
    assert json.loads(gzip.decompress(s3.objects[f"bucket/{key}"])) == value
    assert is_reference(reference) and not is_reference(value)


def test_the_same_payload_is_one_object_and_a_process_writes_it_once(s3: FakeS3):
    value = {"a": "x" * 2 * THRESHOLD}
    first, second = payloads(s3), payloads(s3)

    assert first.offload(value, "wf") == first.offload(value, "wf") == second.offload(value, "wf")
    assert s3.calls == ["put", "put"]  # once per process (cache), the same key both times
    assert len(s3.objects) == 1


def test_a_reference_resolves_once_per_process(s3: FakeS3):
    value = {"a": "x" * 2 * THRESHOLD}
    reference = payloads(s3).offload(value, "wf")
    reader = payloads(s3)

    assert reader.resolve(reference) == value
    assert reader.resolve(reference) == value
    assert s3.calls == ["put", "get"]
    assert reader.resolve({"plain": 1}) == {"plain": 1}


def test_the_cache_is_bounded_by_size_and_drops_the_least_recently_used(s3: FakeS3):
    store = payloads(s3, cache_bytes=5 * THRESHOLD)
    values = [{"n": i, "a": "x" * 2 * THRESHOLD} for i in range(3)]
    references = [store.offload(value, "wf") for value in values]
    s3.calls.clear()

    assert store.resolve(references[2]) == values[2]
    assert store.resolve(references[0]) == values[0]
    assert s3.calls == ["get"]  # the first fell out when the third came in


def test_a_payload_over_the_limit_is_refused_before_anything_is_stored(s3: FakeS3):
    with pytest.raises(PayloadTooLargeError, match="over the 4096-byte limit"):
        payloads(s3).offload({"a": "x" * 5000}, "wf", limit=4096)
    assert s3.calls == []


def test_a_reference_is_checked_against_its_workflow_and_the_limit(s3: FakeS3):
    store = payloads(s3)
    reference = store.offload({"a": "x" * 2 * THRESHOLD}, "wf")

    assert store.offload(reference, "wf", limit=10 * THRESHOLD) is reference
    with pytest.raises(BadRequestError, match="not a payload of workflow other"):
        store.offload(reference, "other")
    with pytest.raises(PayloadTooLargeError):
        store.offload(reference, "wf", limit=THRESHOLD)
    with pytest.raises(BadRequestError):
        store.offload({MARKER: "payloads/wf/x"}, "wf")
