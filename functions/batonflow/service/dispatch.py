"""Handing task attempts to their queues, within their definition's rate limit.

``rateLimitPerFrequency`` N per ``rateLimitFrequencyInSeconds`` F (REFERENCE §1.5, §3.3): at most N tasks
of the definition start per F-second window. Conductor checks at poll time and postpones a task 60 s when
the window is full; Baton's SQS-native workers take tasks straight from SQS, so the limit applies where
every task passes — the hand-off to the queue. Each rate-limited attempt reserves a start in the first
window with room (a conditional counter per window, ``store.start_windows``) and its message is delayed to
that window; attempts without a limit cost nothing extra. A reservation whose message is never sent (a
crash in between) only wastes a start: the limit is never exceeded. With both limits, the start is counted
in the window the attempt was scheduled for, even if it then waits for a concurrency slot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from batonflow.model import Task
from batonflow.model.wire import TaskMessage
from batonflow.service import concurrency
from batonflow.service.messages import task_message
from batonflow.service.runtime import Runtime

MAX_WINDOWS_AHEAD = 10_000
"""How far a backlog may push a start; beyond that the task waits at the last window probed."""


def dispatch(runtime: Runtime, attempts: Sequence[tuple[Task, int]], *, now: int) -> None:
    """Send each attempt to its queue after its delay (seconds), later if its rate limit says so, and
    only with a free slot if its definition limits concurrent executions (``service.concurrency``)."""
    if not attempts:
        return
    first_open: dict[str, int] = {}  # per definition, for this call: a fan-out reads the hint once
    ready: list[tuple[TaskMessage, int]] = []
    gated: list[tuple[TaskMessage, int, int]] = []
    for task, delay in attempts:
        message = task_message(task, runtime.payloads)
        delay = _admitted_delay(runtime, task, delay, now, first_open)
        limit = concurrency.concurrency_limit(task)
        if limit > 0:
            gated.append((message, delay, limit))
        else:
            ready.append((message, delay))
    if gated:
        ready.extend(concurrency.admit(runtime, gated, now=now))
    runtime.queues.send_tasks(ready, now=now)


def _admitted_delay(
    runtime: Runtime, task: Task, delay_seconds: int, now: int, first_open: dict[str, int]
) -> int:
    task_def = task.task_definition
    if task_def is None or task_def.rate_limit_per_frequency <= 0:
        return delay_seconds
    window_ms = max(task_def.rate_limit_frequency_in_seconds, 1) * 1000
    earliest = (now + delay_seconds * 1000) // window_ms
    windows = runtime.start_windows
    if task_def.name not in first_open:
        first_open[task_def.name] = windows.first_open(task_def.name)
    hint = first_open[task_def.name]
    window = max(earliest, hint)
    for _ in range(MAX_WINDOWS_AHEAD):
        if windows.reserve(
            task_def.name, window, task_def.rate_limit_per_frequency, (window + 1) * window_ms // 1000
        ):
            break
        window += 1
    if window > earliest and window > hint:
        windows.move_hint(task_def.name, window)
        first_open[task_def.name] = window
    return max(delay_seconds, math.ceil((window * window_ms - now) / 1000))
