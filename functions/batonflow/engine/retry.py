"""Retry delays (REFERENCE §3.4): FIXED d, LINEAR_BACKOFF d·scale·(n+1), EXPONENTIAL_BACKOFF d·2ⁿ.

The cap (``maxRetryDelaySeconds``) applies to all three. Jitter (``backoffJitterMs``) is derived from the
failed attempt's id instead of a random source, so ``decide()`` stays a pure function: the same state always
yields the same plan.
"""

from __future__ import annotations

import hashlib

from batonflow.model import RetryLogic, TaskDef

_JAVA_INT_MAX = 2_147_483_647


def retry_delay_seconds(task_def: TaskDef, failed_retry_count: int) -> int:
    """Whole-second delay Conductor shows in ``callbackAfterSeconds`` of the new attempt."""
    base = task_def.retry_delay_seconds
    n = failed_retry_count
    if task_def.retry_logic == RetryLogic.LINEAR_BACKOFF:
        delay = base * max(task_def.backoff_scale_factor, 1) * (n + 1)
    elif task_def.retry_logic == RetryLogic.EXPONENTIAL_BACKOFF:
        delay = base * min(2**n, _JAVA_INT_MAX)
    else:
        delay = base
    delay = min(delay, _JAVA_INT_MAX)
    if task_def.max_retry_delay_seconds > 0:
        delay = min(delay, task_def.max_retry_delay_seconds)
    return max(delay, 0)


def jitter_ms(task_def: TaskDef, failed_task_id: str) -> int:
    """0..backoffJitterMs milliseconds, stable for a given failed attempt."""
    bound = task_def.backoff_jitter_ms
    if bound <= 0:
        return 0
    digest = hashlib.blake2b(failed_task_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (bound + 1)
