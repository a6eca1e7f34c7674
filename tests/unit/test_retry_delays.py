"""Retry delays (REFERENCE §3.4): FIXED, LINEAR_BACKOFF, EXPONENTIAL_BACKOFF, the cap and the jitter."""

from __future__ import annotations

import pytest

from batonflow.engine.retry import jitter_ms, retry_delay_seconds
from batonflow.model import TaskDef


@pytest.mark.parametrize(
    ("settings", "failed_attempts", "expected"),
    [
        ({"retryLogic": "FIXED", "retryDelaySeconds": 7}, [0, 1, 5], [7, 7, 7]),
        (
            {"retryLogic": "LINEAR_BACKOFF", "retryDelaySeconds": 2, "backoffScaleFactor": 3},
            [0, 1, 2],
            [6, 12, 18],
        ),
        ({"retryLogic": "EXPONENTIAL_BACKOFF", "retryDelaySeconds": 3}, [0, 1, 4], [3, 6, 48]),
        (
            {"retryLogic": "EXPONENTIAL_BACKOFF", "retryDelaySeconds": 3, "maxRetryDelaySeconds": 10},
            [0, 2],
            [3, 10],
        ),
        ({"retryLogic": "FIXED", "retryDelaySeconds": 30, "maxRetryDelaySeconds": 5}, [0], [5]),
        ({"retryLogic": "EXPONENTIAL_BACKOFF", "retryDelaySeconds": 1}, [40], [2_147_483_647]),
    ],
)
def test_delay_formulas(settings: dict, failed_attempts: list[int], expected: list[int]):
    task_def = TaskDef.model_validate({"name": "t", **settings})
    assert [retry_delay_seconds(task_def, n) for n in failed_attempts] == expected


def test_jitter_is_bounded_and_stable_for_an_attempt():
    task_def = TaskDef.model_validate({"name": "t", "backoffJitterMs": 500})
    values = [jitter_ms(task_def, f"task-{i}") for i in range(200)]
    assert all(0 <= v <= 500 for v in values)
    assert len(set(values)) > 50
    assert jitter_ms(task_def, "task-7") == jitter_ms(task_def, "task-7")
    assert jitter_ms(TaskDef(name="t"), "task-7") == 0
