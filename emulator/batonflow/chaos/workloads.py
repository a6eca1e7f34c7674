"""The workflows a chaos run draws from, their workers, and each one's expected outcome in plain Python.

The mix covers SIMPLE, retries (with a delay: a timer), SWITCH, FORK_JOIN, a dynamic fork, DO_WHILE,
SUB_WORKFLOW, WAIT (a one-second timer) and a task timeout (the first attempt outlives ``timeoutSeconds``
and its late result must be ignored). Every worker task definition allows retries, because a worker that
vanishes holding a task costs that task an attempt. Expected outputs are computed here from the input
alone, never from what the engine did.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batonflow.sdk.context import TaskContext

ADD_TASK = "chaos_add"
FLAKY_TASK = "chaos_flaky"
SLOW_TASK = "chaos_slow"

SLOW_TIMEOUT_S = 2
SLOW_HOLD_S = 150.0
"""The longest the first attempt of ``chaos_slow`` is held, waiting for the engine to time it out (longer
than a sweep bound: a lost timeout timer is repaired by the sweeper a minute late)."""
STALE_VALUE = -1
"""What a first ``chaos_slow`` attempt answers, too late: an output with it means a stale result won."""

TASK_DEFS = [
    {"name": ADD_TASK, "retryCount": 6, "retryLogic": "FIXED", "retryDelaySeconds": 0},
    {
        "name": FLAKY_TASK,
        "retryCount": 8,
        "retryLogic": "FIXED",
        "retryDelaySeconds": 1,
        "responseTimeoutSeconds": 60,
    },
    {
        "name": SLOW_TASK,
        "retryCount": 6,
        "retryLogic": "FIXED",
        "retryDelaySeconds": 0,
        "timeoutSeconds": SLOW_TIMEOUT_S,
        "responseTimeoutSeconds": SLOW_TIMEOUT_S,
        "timeoutPolicy": "RETRY",
    },
]


def _task(ref: str, task_type: str = "SIMPLE", name: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"name": name or ref, "taskReferenceName": ref, "type": task_type, **fields}


def _add(ref: str, value: str, delta: str | int) -> dict[str, Any]:
    return _task(ref, name=ADD_TASK, inputParameters={"value": value, "delta": delta})


def _result(ref: str, value: str) -> dict[str, Any]:
    return _task(ref, "SET_VARIABLE", inputParameters={"result": value})


def _definition(name: str, tasks: list[dict[str, Any]], output: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "version": 1, "schemaVersion": 2, "tasks": tasks, "outputParameters": output}


@dataclass(frozen=True)
class Workload:
    """One workflow of the mix: its definition, how to draw an input, and what that input must give."""

    kind: str
    definition: dict[str, Any]
    draw: Callable[[random.Random], dict[str, Any]]
    expected: Callable[[dict[str, Any]], dict[str, Any]]

    @property
    def name(self) -> str:
        return str(self.definition["name"])


def _value(rng: random.Random) -> dict[str, Any]:
    return {"value": rng.randint(-1000, 1000)}


SIMPLE = Workload(
    "simple",
    _definition(
        "chaos_simple",
        [_add("first", "${workflow.input.value}", 1), _add("second", "${first.output.value}", 2)],
        {"value": "${second.output.value}"},
    ),
    _value,
    lambda given: {"value": given["value"] + 3},
)

RETRY = Workload(
    "retry",
    _definition(
        "chaos_retry",
        [
            _task(
                "flaky",
                name=FLAKY_TASK,
                inputParameters={
                    "value": "${workflow.input.value}",
                    "failures": "${workflow.input.failures}",
                },
            )
        ],
        {"value": "${flaky.output.value}"},
    ),
    lambda rng: {**_value(rng), "failures": rng.randint(1, 2)},
    lambda given: {"value": given["value"] * 3},
)

SWITCH = Workload(
    "switch",
    _definition(
        "chaos_switch",
        [
            _task(
                "route",
                "SWITCH",
                evaluatorType="value-param",
                expression="kind",
                inputParameters={"kind": "${workflow.input.kind}"},
                decisionCases={
                    "add": [
                        _add("plus", "${workflow.input.value}", 10),
                        _result("r_plus", "${plus.output.value}"),
                    ],
                    "triple": [
                        _task(
                            "triple",
                            name=FLAKY_TASK,
                            inputParameters={"value": "${workflow.input.value}", "failures": 0},
                        ),
                        _result("r_triple", "${triple.output.value}"),
                    ],
                },
                defaultCase=[
                    _add("minus", "${workflow.input.value}", -1),
                    _result("r_minus", "${minus.output.value}"),
                ],
            )
        ],
        {"result": "${workflow.variables.result}"},
    ),
    lambda rng: {**_value(rng), "kind": rng.choice(["add", "triple", "other"])},
    lambda given: {
        "result": {"add": given["value"] + 10, "triple": given["value"] * 3}.get(
            given["kind"], given["value"] - 1
        )
    },
)

FORK = Workload(
    "fork_join",
    _definition(
        "chaos_fork",
        [
            _task(
                "fork",
                "FORK_JOIN",
                forkTasks=[
                    [_add("left", "${workflow.input.value}", 1)],
                    [
                        _add("right1", "${workflow.input.value}", 2),
                        _add("right2", "${right1.output.value}", 3),
                    ],
                ],
            ),
            _task("fork_join", "JOIN", joinOn=["left", "right2"]),
        ],
        {"left": "${left.output.value}", "right": "${right2.output.value}"},
    ),
    _value,
    lambda given: {"left": given["value"] + 1, "right": given["value"] + 5},
)

DYNAMIC = Workload(
    "dynamic_fork",
    _definition(
        "chaos_dynamic",
        [
            _task(
                "fan",
                "FORK_JOIN_DYNAMIC",
                inputParameters={"forkTaskName": ADD_TASK, "forkTaskInputs": "${workflow.input.items}"},
            ),
            _task("fan_join", "JOIN"),
            _task(
                "total",
                "INLINE",
                inputParameters={
                    "evaluatorType": "javascript",
                    "outputs": "${fan_join.output}",
                    "expression": "var n = 0; for (var k in $.outputs) { n += $.outputs[k].value; } n;",
                },
            ),
        ],
        {"total": "${total.output.result}", "branches": "${workflow.input.width}"},
    ),
    lambda rng: _fan_input([rng.randint(-50, 50) for _ in range(rng.randint(2, 5))]),
    lambda given: {
        "total": sum(item["value"] + item["delta"] for item in given["items"]),
        "branches": given["width"],
    },
)


def _fan_input(values: list[int]) -> dict[str, Any]:
    return {"items": [{"value": v, "delta": i} for i, v in enumerate(values)], "width": len(values)}


LOOP_SUM = '[.rounds | to_entries[] | select(.key != "iteration") | .value.step.value] | add'
LOOP = Workload(
    "do_while",
    _definition(
        "chaos_loop",
        [
            _task(
                "loop",
                "DO_WHILE",
                loopCondition="$.loop['iteration'] < $.rounds",
                inputParameters={"rounds": "${workflow.input.rounds}"},
                loopOver=[_add("step", "${workflow.input.value}", "${loop.output.iteration}")],
            ),
            _task(
                "sum",
                "JSON_JQ_TRANSFORM",
                inputParameters={"queryExpression": LOOP_SUM, "rounds": "${loop.output}"},
            ),
        ],
        {"iterations": "${loop.output.iteration}", "sum": "${sum.output.result}"},
    ),
    lambda rng: {**_value(rng), "rounds": rng.randint(1, 3)},
    lambda given: {
        "iterations": given["rounds"],
        "sum": sum(given["value"] + i for i in range(1, given["rounds"] + 1)),
    },
)

SUB = Workload(
    "sub_workflow",
    _definition(
        "chaos_sub",
        [
            _task(
                "child",
                "SUB_WORKFLOW",
                subWorkflowParam={"name": SIMPLE.name, "version": 1},
                inputParameters={"value": "${workflow.input.value}"},
            ),
            _add("after", "${child.output.value}", 4),
        ],
        {"value": "${after.output.value}"},
    ),
    _value,
    lambda given: {"value": given["value"] + 7},
)

WAIT = Workload(
    "wait",
    _definition(
        "chaos_wait",
        [
            # a task first: a start's own decide (the API, which faults leave alone) would send the WAIT's
            # timer, where this way a queue function sends it, which ``lost_timer`` can hit
            _add("before", "${workflow.input.value}", 2),
            _task("pause", "WAIT", inputParameters={"duration": "1s"}),
            _add("after", "${before.output.value}", 3),
        ],
        {"value": "${after.output.value}"},
    ),
    _value,
    lambda given: {"value": given["value"] + 5},
)

TIMEOUT = Workload(
    "timeout",
    _definition(
        "chaos_timeout",
        [_task("slow", name=SLOW_TASK, inputParameters={"value": "${workflow.input.value}"})],
        {"value": "${slow.output.value}"},
    ),
    _value,
    lambda given: {"value": given["value"] + 100},
)

MIX = [SIMPLE, RETRY, SWITCH, FORK, DYNAMIC, LOOP, SUB, WAIT, TIMEOUT]
"""Drawn in turn, so any ``N >= len(MIX)`` covers every kind."""


@dataclass(frozen=True)
class Planned:
    """The ``index``-th workflow of a run: its kind, its input and the output that input must give."""

    seed: int
    index: int
    workload: Workload
    input: dict[str, Any]

    @property
    def expected(self) -> dict[str, Any]:
        return self.workload.expected(self.input)

    @property
    def idempotency_key(self) -> str:
        return f"chaos-{self.seed}-{self.index}"


def plan(seed: int, count: int, mix: list[Workload] | None = None) -> list[Planned]:
    """The workflows a run with ``seed`` starts: the kinds in turn, each input drawn from a generator of
    its own (``f"{seed}:{index}"``), so a workflow's input depends on nothing but the seed and its index
    (the first ten of a run of 1,000 are those of a run of 10)."""
    kinds = MIX if mix is None else mix
    return [
        Planned(
            seed,
            index,
            kinds[index % len(kinds)],
            kinds[index % len(kinds)].draw(random.Random(f"{seed}:{index}")),
        )
        for index in range(count)
    ]


@dataclass
class WorkerLedger:
    """Every execution the chaos workers made, by (workflow id, task id, attempt); thread-safe."""

    executions: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, workflow_id: str, task_id: str, attempt: int) -> None:
        with self._lock:
            self.executions[(workflow_id, task_id, attempt)] += 1

    def of(self, workflow_id: str) -> dict[tuple[str, int], int]:
        """(task id, attempt) → executions, for one workflow."""
        with self._lock:
            return {(t, a): n for (w, t, a), n in self.executions.items() if w == workflow_id}


class ChaosWorkers:
    """The SDK workers' functions (``chaos_slow`` has a REST worker, :mod:`batonflow.chaos.rest_worker`);
    each execution is recorded in :attr:`ledger`."""

    def __init__(self) -> None:
        self.ledger = WorkerLedger()

    def add(self, ctx: TaskContext) -> dict[str, Any]:
        self._record(ctx)
        return {"value": ctx.input_data["value"] + ctx.input_data["delta"]}

    def flaky(self, ctx: TaskContext) -> dict[str, Any]:
        """Fails while the attempt number is below ``failures``."""
        self._record(ctx)
        if ctx.retry_count < int(ctx.input_data.get("failures") or 0):
            raise RuntimeError(f"flaky: attempt {ctx.retry_count} fails on purpose")
        return {"value": ctx.input_data["value"] * 3}

    def functions(self) -> dict[str, Callable[[TaskContext], dict[str, Any]]]:
        return {ADD_TASK: self.add, FLAKY_TASK: self.flaky}

    def _record(self, ctx: TaskContext) -> None:
        self.ledger.record(ctx.workflow_instance_id, ctx.task_id, ctx.retry_count)
