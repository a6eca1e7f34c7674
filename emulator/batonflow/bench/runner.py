"""One benchmark run: a fresh local stack, the phases in order, and the numbers they produce.

Phases, all on one embedded moto server: the floor (bare calls, before the engine's items grow the table),
the raw SQS round trip, step latency (one chain at a time, nothing else running), throughput (many chains
at once), then fan-out at two widths. The engine's phases are billed from what :class:`Meter` counted while
they ran; the bench's own bookkeeping (waiting, checking outputs) runs as the unbilled ``bench`` role.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from batonflow.bench import workloads
from batonflow.bench.calls import UNBILLED_ROLES, CallLedger, Tally, indexes_of, record_sandbox_calls
from batonflow.bench.cold_import import measure_cold_imports
from batonflow.bench.errors import BenchError
from batonflow.bench.floor import raw_round_trips, run_floor
from batonflow.bench.prices import Cost, Invocation, cost_of, gb_seconds
from batonflow.emulator.lambda_runtime import Invocation as HandlerCall
from batonflow.emulator.sandboxes import SandboxProbe

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total) while a phase runs."""

_WORKER_CONCURRENCY = 10
_FUNCTION_CONCURRENCY = {"CompleteFunction": 2, "DeciderFunction": 2}
"""Invocations of the functions on a task's path that run at once, each in a sandbox process of its own
as on Lambda: the functions' work then does not queue for the one interpreter lock that moto's server,
the workers and the bench share in this process."""
_LATENCY_RUNS = 20
"""Chains run one at a time for the step latency: 180 steps, so its p50 moves by a few ms between runs (50
steps moved it by 20 ms)."""
_ROUND_TRIPS = 50
_WAIT_S = 600.0
_POLL_S = 0.25


class Meter:
    """The stack's invoker: runs each handler call as its function's role and records its duration."""

    def __init__(self, ledger: CallLedger) -> None:
        self.ledger = ledger
        self._lock = threading.Lock()
        self._invocations: list[Invocation] = []

    def __call__(self, call: HandlerCall) -> Any:
        started = time.perf_counter()
        try:
            with self.ledger.acting(f"fn:{call.function.logical_id}"):
                return call()
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            with self._lock:
                self._invocations.append(
                    Invocation(call.function.logical_id, elapsed_ms, call.function.memory_mb, call.source)
                )

    @property
    def sandbox_probe(self) -> SandboxProbe:
        """Counts the calls the functions make in their sandbox processes, as their roles' (the ledger's
        hooks are in this process only)."""
        return SandboxProbe(start=record_sandbox_calls, receive=self.ledger.replay)

    def take(self) -> tuple[Tally, list[Invocation]]:
        """What was counted since the last take."""
        with self._lock:
            invocations, self._invocations = self._invocations, []
        return self.ledger.take(), invocations


@dataclass(frozen=True)
class Stretch:
    """The AWS usage of one phase: calls, billed units, invocations, and what they cost."""

    tally: Tally
    invocations: list[Invocation]
    units: int
    """Tasks (or branches) the phase completed: the denominator of every per-task figure."""
    elapsed_s: float

    @property
    def cost(self) -> Cost:
        return cost_of(self.tally, self.invocations)

    def calls_by_operation(self) -> dict[str, float]:
        """Billed calls per unit, by ``service:Operation``, with Lambda invocations and API requests."""
        counts: dict[str, float] = {}
        for (role, service, operation), n in self.tally.calls.items():
            if role not in UNBILLED_ROLES:
                name = f"{service}:{operation}"
                counts[name] = counts.get(name, 0) + n
        counts["lambda:Invoke"] = len(self.invocations)
        counts["apigateway:Request"] = sum(call.source == "http" for call in self.invocations)
        return {name: n / self.units for name, n in sorted(counts.items()) if n}

    def calls_by_role(self) -> dict[str, float]:
        counts: dict[str, float] = {}
        for (role, _, _), n in self.tally.calls.items():
            if role not in UNBILLED_ROLES:
                counts[role] = counts.get(role, 0) + n
        for call in self.invocations:
            counts[f"fn:{call.function}"] = counts.get(f"fn:{call.function}", 0) + 1
        return {role: n / self.units for role, n in sorted(counts.items())}

    @property
    def calls_per_unit(self) -> float:
        # an API Gateway request and the Lambda invocation behind it are two billed calls
        return sum(self.calls_by_operation().values())

    def dynamodb_items_per_unit(self) -> tuple[float, float]:
        read = sum(n for role, n in self.tally.items_read.items() if role not in UNBILLED_ROLES)
        written = sum(n for role, n in self.tally.items_written.items() if role not in UNBILLED_ROLES)
        return read / self.units, written / self.units


@dataclass
class BenchResult:
    tasks: int
    fanout: int
    floor_elapsed_s: float
    throughput: Stretch
    raw_round_trip_ms: list[float]
    step_overhead_ms: list[float]
    idle_gb_s_per_task: float
    """Lambda GB-seconds per task while one workflow ran at a time (the step-latency phase)."""
    fan_out: dict[int, Stretch] = field(default_factory=dict)
    cold_import: Any = None
    duration_s: float = 0.0

    @property
    def cost(self) -> Cost:
        """The throughput phase's cost, its Lambda compute at the functions' durations with the stack idle.

        Under load the functions share this machine's two cores with the moto server and the workers, so
        their wall time measures the machine's contention more than their work; a Lambda has its own CPU.
        """
        return cost_of(
            self.throughput.tally,
            self.throughput.invocations,
            compute_gb_s=self.idle_gb_s_per_task * self.tasks,
        )

    @property
    def tasks_per_s(self) -> float:
        return self.tasks / self.throughput.elapsed_s

    @property
    def floor_tasks_per_s(self) -> float:
        return self.tasks / self.floor_elapsed_s

    @property
    def usd_per_million_tasks(self) -> float:
        return self.cost.total / self.tasks * 1e6

    @property
    def fanout_cost_ratio(self) -> float:
        small, large = sorted(self.fan_out)
        return self.fan_out[large].cost.total / self.fan_out[small].cost.total


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (``fraction`` in [0, 1])."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@contextmanager
def _bench_stack(meter: Meter) -> Iterator[Any]:
    from batonflow.emulator import BatonStack

    with BatonStack(
        invoke=meter,
        api_concurrency=1,
        concurrency=_FUNCTION_CONCURRENCY,
        sandbox_probe=meter.sandbox_probe,
        parameters={"LogLevel": "WARNING"},
    ) as stack:
        yield stack


def run_bench(*, tasks: int, fanout: int, progress: Progress = lambda *_: None) -> BenchResult:
    """Run every phase on a fresh local stack; ``tasks`` is rounded up to whole chains of ten."""
    from batonflow.sdk import BatonClient, Worker, WorkerSettings
    from batonflow.store.executions import ExecutionStore

    chains = max(1, -(-tasks // workloads.CHAIN_LENGTH))
    tasks = chains * workloads.CHAIN_LENGTH
    widths = sorted({max(1, fanout // 10), fanout})
    started = time.perf_counter()
    ledger = CallLedger().install()
    meter = Meter(ledger)
    try:
        with _bench_stack(meter) as stack:
            table = stack.resources["BatonTable"].ref
            sqs, dynamodb = stack.client("sqs"), stack.client("dynamodb")
            ledger.indexes[table] = indexes_of(dynamodb, table)
            executions = ExecutionStore(dynamodb, table)
            client = BatonClient(stack.api_url)
            client.register_task_defs(workloads.TASK_DEFS)
            client.register_workflow_def(workloads.CHAIN_WORKFLOW)
            client.register_workflow_def(workloads.FAN_OUT_WORKFLOW)

            floor_elapsed = _phase(
                progress,
                "floor",
                tasks,
                lambda tick: run_floor(
                    sqs,
                    dynamodb,
                    table=table,
                    chains=chains,
                    chain_length=workloads.CHAIN_LENGTH,
                    threads=_WORKER_CONCURRENCY,
                    on_task=tick,
                ),
            )
            round_trips = _phase(
                progress, "raw round trip", 1, lambda tick: raw_round_trips(sqs, _ROUND_TRIPS)
            )

            clock = workloads.StepClock()
            settings = WorkerSettings.from_env(stack.worker_environment(), worker_id="baton-bench")
            workers = [
                Worker(workloads.STEP_TASK, clock.step, concurrency=_WORKER_CONCURRENCY, wait_seconds=1),
                Worker(
                    workloads.BRANCH_TASK, workloads.branch, concurrency=_WORKER_CONCURRENCY, wait_seconds=1
                ),
            ]
            for worker in workers:
                worker.start(settings)
            try:
                meter.take()
                latency_runs = _latency(client, executions, clock, progress)
                _, idle_invocations = meter.take()
                throughput = _throughput(client, executions, clock, meter, chains, progress)
                fan_out = {width: _fan_out(client, executions, meter, width, progress) for width in widths}
            finally:
                for worker in workers:
                    worker.stop(grace_seconds=5)
            step_overheads = clock.overheads_ms(latency_runs)
        cold = _phase(progress, "cold imports", 1, lambda tick: measure_cold_imports())
    finally:
        ledger.uninstall()
    return BenchResult(
        tasks=tasks,
        fanout=fanout,
        floor_elapsed_s=floor_elapsed,
        throughput=throughput,
        raw_round_trip_ms=round_trips,
        idle_gb_s_per_task=gb_seconds(idle_invocations) / (_LATENCY_RUNS * workloads.CHAIN_LENGTH),
        step_overhead_ms=step_overheads,
        fan_out=fan_out,
        cold_import=cold,
        duration_s=time.perf_counter() - started,
    )


def _phase(progress: Progress, name: str, total: int, work: Callable[[Callable[[], None]], Any]) -> Any:
    done = 0
    lock = threading.Lock()

    def tick() -> None:
        nonlocal done
        with lock:
            done += 1
            progress(name, done, total)

    progress(name, 0, total)
    result = work(tick)
    progress(name, total, total)
    return result


def _latency(client: Any, executions: Any, clock: workloads.StepClock, progress: Progress) -> set[str]:
    """Chains run one at a time: their step overheads are the engine's latency with nothing queued."""
    runs = set()
    for index in range(_LATENCY_RUNS):
        progress("step latency", index, _LATENCY_RUNS)
        run = f"latency-{uuid.uuid4().hex[:8]}"
        workflow_id = client.start_workflow("bench_chain", {"value": 0, "run": run})
        _wait_finished(executions, [workflow_id], lambda *_: None)
        runs.add(run)
    progress("step latency", _LATENCY_RUNS, _LATENCY_RUNS)
    return runs


def _throughput(
    client: Any, executions: Any, clock: workloads.StepClock, meter: Meter, chains: int, progress: Progress
) -> Stretch:
    tasks = chains * workloads.CHAIN_LENGTH
    expected = {}
    started = time.perf_counter()
    for index in range(chains):
        workflow_id = client.start_workflow("bench_chain", {"value": index, "run": f"throughput-{index}"})
        expected[workflow_id] = workloads.chain_output(index)
    _wait_finished(executions, list(expected), lambda done: progress("throughput", done * 10, tasks))
    elapsed = time.perf_counter() - started
    tally, invocations = meter.take()
    _check_outputs(executions, expected)
    meter.take()
    return Stretch(tally, invocations, tasks, elapsed)


def _fan_out(client: Any, executions: Any, meter: Meter, width: int, progress: Progress) -> Stretch:
    name = f"fan-out {width}"
    progress(name, 0, width)
    started = time.perf_counter()
    workflow_id = client.start_workflow("bench_fan_out", workloads.fan_out_input(width))
    _wait_finished(executions, [workflow_id], lambda done: progress(name, done * width, width))
    elapsed = time.perf_counter() - started
    tally, invocations = meter.take()
    _check_outputs(executions, {workflow_id: workloads.fan_out_output(width)})
    meter.take()
    return Stretch(tally, invocations, width, elapsed)


def _wait_finished(executions: Any, workflow_ids: list[str], on_progress: Callable[[int], None]) -> None:
    """Poll the headers' status (as the unbilled bench) until every workflow has finished.

    The bench shares the moto server and the interpreter with the stack it measures (the floor counts
    its tasks in memory), so its polls are load on what it measures: they read only the status, at most
    :data:`_POLL_S` apart. Reading whole headers 20 times a second took a quarter of the process's time
    in the throughput phase.
    """
    pending = set(workflow_ids)
    deadline = time.monotonic() + _WAIT_S
    while pending:
        statuses = executions.statuses(sorted(pending)[:100])
        pending -= {wid for wid, status in statuses.items() if status.is_terminal}
        on_progress(len(workflow_ids) - len(pending))
        if time.monotonic() > deadline:
            raise BenchError(f"{len(pending)} workflows still running after {_WAIT_S:.0f} s")
        if pending:
            time.sleep(_POLL_S)


def _check_outputs(executions: Any, expected: dict[str, dict[str, Any]]) -> None:
    ids = list(expected)
    for start in range(0, len(ids), 100):
        for workflow_id, workflow in executions.load_headers(ids[start : start + 100]).items():
            if workflow.status.value != "COMPLETED" or workflow.output != expected[workflow_id]:
                raise BenchError(
                    f"workflow {workflow_id} ended {workflow.status.value} with {workflow.output}, "
                    f"expected COMPLETED with {expected[workflow_id]}"
                )
