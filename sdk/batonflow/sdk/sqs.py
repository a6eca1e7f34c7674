"""SQS limits and the pure helpers that keep batch calls within them."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

T = TypeVar("T")

# Entries per ReceiveMessage, SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch.
MAX_BATCH = 10
# SQS's classic limit on one message and on a whole batch request. Queues may allow up to 1 MiB since 2025,
# but one created with an explicit MaximumMessageSize (or by an older emulator) still stops at 256 KiB.
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024


def retry_delay(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failed calls: 1, 2, 4 ... capped at 30.

    botocore has already retried each call with jittered backoff; this only keeps a loop whose calls
    keep failing (endpoint down, credentials wrong) from spinning.
    """
    return min(30.0, 2.0 ** (max(failures, 1) - 1))


def chunked(items: Sequence[T], size: int = MAX_BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def pack_by_size(sizes: Sequence[int], *, max_bytes: int, max_entries: int = MAX_BATCH) -> list[list[int]]:
    """Group indexes of ``sizes``, in order, into batches within both SQS batch limits.

    A single entry larger than ``max_bytes`` gets a batch of its own (SQS will reject it, alone).
    """
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index, size in enumerate(sizes):
        if current and (len(current) == max_entries or total + size > max_bytes):
            batches.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    if current:
        batches.append(current)
    return batches


def log_call_failure(logger: logging.Logger, message: str, *args: object, exc: Exception) -> None:
    """Log a failed call: an AWS error in one line, anything unexpected with its traceback.

    The runtime's threads catch every exception around their SQS calls, not only botocore's: a poller or
    reporter thread that died would leave a process that looks alive and does nothing.
    """
    expected = isinstance(exc, BotoCoreError | ClientError)
    logger.warning(f"{message}: %s", *args, exc, exc_info=not expected)
