"""The SDK's public surface is what ``batonflow.sdk`` exports; pin it so a change is deliberate."""

from __future__ import annotations

import batonflow.sdk


def test_public_names_are_pinned() -> None:
    assert sorted(batonflow.sdk.__all__) == [
        "BatonApiError",
        "BatonClient",
        "NonRetryableError",
        "TaskContext",
        "TaskInProgress",
        "Worker",
        "WorkerConfigError",
        "WorkerRunner",
        "WorkerSettings",
        "run_workers",
        "worker_task",
    ]


def test_every_public_name_is_defined_and_documented() -> None:
    for name in batonflow.sdk.__all__:
        member = getattr(batonflow.sdk, name)
        assert member.__doc__, f"{name} has no docstring"
