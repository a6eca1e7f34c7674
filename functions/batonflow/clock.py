"""The one place that reads the wall clock. Everything else takes ``now`` (epoch ms) as a parameter."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def system_clock() -> int:
    return time.time_ns() // 1_000_000
