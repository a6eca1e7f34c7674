"""The workflows the benchmark runs, the workers that run their tasks, and what the workers observe.

``bench_chain``: ten sequential SIMPLE tasks, each adding one to the previous task's value, so a run's
output is its input plus ten. ``bench_fan_out``: a dynamic fork of one SIMPLE task per item, a JOIN and
an INLINE sum, so its output is the sum of the doubled items. Both outputs are computed here without the
engine, and every run is checked against them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

CHAIN_LENGTH = 10
STEP_TASK = "bench_step"
BRANCH_TASK = "bench_branch"

TASK_DEFS = [
    {"name": STEP_TASK, "retryCount": 0, "responseTimeoutSeconds": 300, "timeoutSeconds": 0},
    {"name": BRANCH_TASK, "retryCount": 0, "responseTimeoutSeconds": 300, "timeoutSeconds": 0},
]


def _chain_step(index: int) -> dict[str, Any]:
    value = "${workflow.input.value}" if index == 0 else f"${{s{index - 1}.output.value}}"
    return {
        "name": STEP_TASK,
        "taskReferenceName": f"s{index}",
        "inputParameters": {"value": value, "run": "${workflow.input.run}", "step": index},
    }


CHAIN_WORKFLOW = {
    "name": "bench_chain",
    "version": 1,
    "schemaVersion": 2,
    "tasks": [_chain_step(index) for index in range(CHAIN_LENGTH)],
    "outputParameters": {"value": f"${{s{CHAIN_LENGTH - 1}.output.value}}"},
}

FAN_OUT_WORKFLOW = {
    "name": "bench_fan_out",
    "version": 1,
    "schemaVersion": 2,
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN_DYNAMIC",
            "inputParameters": {"forkTaskName": BRANCH_TASK, "forkTaskInputs": "${workflow.input.items}"},
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"},
        {
            "name": "total",
            "taskReferenceName": "total",
            "type": "INLINE",
            "inputParameters": {
                "evaluatorType": "javascript",
                "outputs": "${join.output}",
                "expression": "var n = 0; for (var k in $.outputs) { n += $.outputs[k].doubled; } n;",
            },
        },
    ],
    "outputParameters": {"total": "${total.output.result}"},
}


def chain_output(value: int) -> dict[str, Any]:
    return {"value": value + CHAIN_LENGTH}


def fan_out_input(width: int) -> dict[str, Any]:
    return {"items": [{"n": n} for n in range(width)]}


def fan_out_output(width: int) -> dict[str, Any]:
    return {"total": sum(2 * n for n in range(width))}


@dataclass
class StepClock:
    """When each chain step started and returned in the worker, by (run, step); thread-safe."""

    started: dict[tuple[str, int], float] = field(default_factory=dict)
    returned: dict[tuple[str, int], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._done = threading.Condition(self._lock)

    def step(self, value: int, run: str, step: int) -> dict[str, Any]:
        """The ``bench_step`` task."""
        with self._lock:
            self.started[(run, step)] = time.perf_counter()
        output = {"value": value + 1}
        with self._done:
            self.returned[(run, step)] = time.perf_counter()
            self._done.notify_all()
        return output

    def wait_for_steps(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` steps in all have returned."""
        with self._done:
            return self._done.wait_for(lambda: len(self.returned) >= count, timeout_s)

    def overheads_ms(self, runs: set[str] | None = None) -> list[float]:
        """For every step after the first: its start minus the previous step's return, in ms."""
        with self._lock:
            return [
                (start - self.returned[(run, step - 1)]) * 1000
                for (run, step), start in self.started.items()
                if step > 0 and (run, step - 1) in self.returned and (runs is None or run in runs)
            ]


def branch(n: int) -> dict[str, Any]:
    """The ``bench_branch`` task."""
    return {"doubled": 2 * n}
