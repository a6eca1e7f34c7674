"""One chaos run: a fresh local stack with a fault profile, the mix of workflows, its workers, the verdicts.

The stack runs on the real clock (WAIT and timeouts take real seconds) with the sweeper every
:data:`SWEEP_INTERVAL_S`; the sweeper repairs a wake-up only once it is :data:`SWEEP_GRACE_S` overdue, so a
workflow that lost a timer finishes about a minute late, and one with nothing moving for longer than
:data:`SWEEP_BOUND_S` is stuck. The run waits until every workflow finished, or nothing finished for a
sweep bound, or the deadline passed. The API is left without faults: it answers the run's own client.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from batonflow.chaos import workloads
from batonflow.chaos.checker import OUTCOMES, Verdict, brief, classify, double_completions
from batonflow.chaos.rest_worker import RestWorker
from batonflow.emulator.faults import FaultInjector, FaultProfile

Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total)."""

SWEEP_INTERVAL_S = 2.0
SWEEP_GRACE_S = 60.0
"""The engine's sweeper grace (``batonflow.service.timers.SWEEP_GRACE_MS``)."""
START_GRACE_S = 60.0
"""A new workflow's first deadline (``batonflow.service.starting.START_GRACE_MS``): a lost start message is
noticed by the sweeper only a grace after it."""
SWEEP_BOUND_S = START_GRACE_S + SWEEP_GRACE_S + SWEEP_INTERVAL_S + 15.0
"""How long a workflow may sit without progress before it counts as stuck: the longest repair the sweeper
makes (a lost start message), one sweep, slack."""
_WORKER_CONCURRENCY = 20
_LEASE_S = 3
IN_FLIGHT = 100
"""Workflows running at once at most."""
_RETRIES = {definition["name"]: int(definition["retryCount"]) for definition in workloads.TASK_DEFS}


@dataclass
class Started:
    workflow_id: str
    workload: workloads.Workload
    input: dict[str, Any]


@dataclass
class ChaosResult:
    profile: FaultProfile
    verdicts: list[Verdict]
    injected: dict[str, int]
    duration_s: float
    worker_executions: int = 0
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The figures ``baton chaos --json`` prints."""
        outcomes = Counter(verdict.outcome for verdict in self.verdicts)
        failures = [v for v in self.verdicts if v.outcome != "correct" or v.doubles]
        return {
            "workflows": len(self.verdicts),
            "completed_correct": outcomes["correct"],
            "wrong_output": outcomes["wrong_output"],
            "lost": outcomes["lost"],
            "stuck": outcomes["stuck"],
            "double_completions": sum(len(verdict.doubles) for verdict in self.verdicts),
            "duration_s": round(self.duration_s, 1),
            "faults": str(self.profile),
            "seed": self.profile.seed,
            "injected": self.injected,
            "worker_executions": self.worker_executions,
            "by_kind": {
                kind: {outcome: counts[outcome] for outcome in OUTCOMES if counts[outcome]}
                for kind, counts in sorted(self.by_kind.items())
            },
            "failures": [
                {
                    "workflowId": v.workflow_id,
                    "kind": v.kind,
                    "outcome": v.outcome,
                    "detail": v.detail,
                    "doubles": v.doubles,
                    "evidence": v.evidence,
                }
                for v in failures[:20]
            ],
        }


@contextmanager
def chaos_stack(profile: FaultProfile) -> Iterator[Any]:
    """A fresh local stack injecting ``profile``'s faults, its API in this process (one at a time)."""
    from batonflow.emulator import BatonStack

    with BatonStack(
        faults=profile,
        api_concurrency=1,
        schedule_interval_s=SWEEP_INTERVAL_S,
        parameters={"LogLevel": "ERROR"},
        stack_name="baton-chaos",
    ) as stack:
        yield stack


def run_chaos(
    *,
    workflows: int,
    profile: FaultProfile,
    deadline_s: float | None = None,
    kinds: Collection[str] | None = None,
    progress: Progress = lambda *_: None,
) -> ChaosResult:
    """Run ``workflows`` workflows of the mix under ``profile`` on a fresh stack and judge each one.

    ``deadline_s`` (default ten minutes) bounds the wait after the last start (starting waits only for
    room under :data:`IN_FLIGHT`);
    ``kinds`` narrows the mix to those workload kinds.
    """
    mix = [workload for workload in workloads.MIX if kinds is None or workload.kind in kinds]
    if not mix:
        raise ValueError(f"no workload of the kinds {sorted(kinds or [])}")
    from batonflow.sdk import BatonClient, Worker, WorkerSettings

    started_at = time.monotonic()
    _quiet_injected_crashes()
    with chaos_stack(profile) as stack:
        client = BatonClient(stack.api_url, timeout_s=60.0)
        chaos_workers = workloads.ChaosWorkers()
        client.register_task_defs(workloads.TASK_DEFS)
        for workload in workloads.MIX:
            client.register_workflow_def(workload.definition)
        settings = WorkerSettings.from_env(stack.worker_environment(), worker_id="baton-chaos")
        workers = [
            Worker(task_type, fn, concurrency=_WORKER_CONCURRENCY, lease_seconds=_LEASE_S, wait_seconds=1)
            for task_type, fn in chaos_workers.functions().items()
        ]
        chance = stack.faults.chance if stack.faults is not None else lambda kind: False
        rest = RestWorker(f"{stack.api_url}/api", workloads.SLOW_TASK, chaos_workers.ledger, chance=chance)
        for worker in workers:
            worker.start(settings)
        rest.start()
        try:
            running = _Running(stack, progress, workflows)
            started = _start_all(client, running, mix, workflows, profile.seed, progress)
            running.wait(0, time.monotonic() + (600.0 if deadline_s is None else deadline_s))
            verdicts = _judge(client, started, chaos_workers.ledger, stack.faults, progress)
        finally:
            rest.stop()
            for worker in workers:
                worker.stop(grace_seconds=5)
            client.close()
        injected = stack.faults.snapshot() if stack.faults is not None else {}
    by_kind: dict[str, Counter[str]] = {}
    for verdict in verdicts:
        by_kind.setdefault(verdict.kind, Counter())[verdict.outcome] += 1
    return ChaosResult(
        profile=profile,
        verdicts=verdicts,
        injected=injected,
        duration_s=time.monotonic() - started_at,
        worker_executions=sum(chaos_workers.ledger.executions.values()),
        by_kind=by_kind,
    )


def _start_all(
    client: Any,
    running: _Running,
    mix: list[workloads.Workload],
    count: int,
    seed: int,
    progress: Progress,
) -> list[Started]:
    """Start ``count`` workflows, at most :data:`IN_FLIGHT` unfinished at a time (deep queues make the
    local SQS slow for everyone, and the run is about correctness, not throughput)."""
    rng = random.Random(seed)
    started = []
    for index in range(count):
        running.wait(IN_FLIGHT - 1, math.inf)  # if it gives up, the rest start anyway and are judged
        workload = mix[index % len(mix)]
        workflow_input = workload.draw(rng)
        workflow_id = client.start_workflow(workload.name, workflow_input, correlation_id=f"chaos-{index}")
        started.append(Started(workflow_id, workload, workflow_input))
        running.add(workflow_id)
        progress("start", index + 1, count)
    return started


class _Running:
    """The started workflows not seen finished yet, from their headers (the run's own reads)."""

    def __init__(self, stack: Any, progress: Progress, total: int) -> None:
        from batonflow.store.executions import ExecutionStore

        self._executions = ExecutionStore(stack.client("dynamodb"), stack.resources["BatonTable"].ref)
        self._progress = progress
        self._total = total
        self._pending: set[str] = set()
        self._finished = 0
        self._last_change = time.monotonic()

    def add(self, workflow_id: str) -> None:
        self._pending.add(workflow_id)

    def wait(self, at_most: int, deadline: float) -> bool:
        """Until at most ``at_most`` are unfinished; False once the deadline passed or nothing finished
        for a sweep bound (what is left then is stuck or lost)."""
        while len(self._pending) > at_most:
            now = time.monotonic()
            if now >= deadline or now - self._last_change >= SWEEP_BOUND_S:
                return False
            ids = sorted(self._pending)
            finished = set()
            for start in range(0, len(ids), 100):
                headers = self._executions.load_headers(ids[start : start + 100])
                finished |= {wid for wid, workflow in headers.items() if workflow.status.is_terminal}
            if finished:
                self._pending -= finished
                self._finished += len(finished)
                self._last_change = time.monotonic()
                self._progress("finish", self._finished, self._total)
            elif len(self._pending) > at_most:
                time.sleep(0.2)
        return True


def _judge(
    client: Any,
    started: list[Started],
    ledger: workloads.WorkerLedger,
    faults: FaultInjector | None,
    progress: Progress,
) -> list[Verdict]:
    verdicts = []
    now_ms = int(time.time() * 1000)
    for index, run in enumerate(started):
        workflow = _get(client, run.workflow_id)
        verdict = classify(
            workflow,
            run.workload.expected(run.input),
            workflow_id=run.workflow_id,
            kind=run.workload.kind,
            now_ms=now_ms,
            sweep_bound_ms=int(SWEEP_BOUND_S * 1000),
        )
        children = _children(client, workflow)
        for each in [workflow, *children]:
            if each is not None:
                verdict.doubles += double_completions(
                    each, retries=_RETRIES, executed=ledger.of(str(each.get("workflowId")))
                )
        if verdict.outcome != "correct" or verdict.doubles:
            ids = [run.workflow_id, *(str(child.get("workflowId")) for child in children if child)]
            verdict.evidence = {
                "workflow": brief(workflow),
                "children": [brief(child) for child in children],
                "faults": [
                    {"at": round(e.at, 3), "kind": e.kind, "thread": e.thread, "detail": e.detail[:500]}
                    for e in (faults.events_about(*ids) if faults is not None else [])
                ],
            }
        verdicts.append(verdict)
        progress("check", index + 1, len(started))
    return verdicts


def _children(client: Any, workflow: dict[str, Any] | None) -> list[dict[str, Any] | None]:
    if workflow is None:
        return []
    ids = {t["subWorkflowId"] for t in workflow.get("tasks") or [] if t.get("subWorkflowId")}
    return [_get(client, child) for child in sorted(ids)]


def _get(client: Any, workflow_id: str) -> dict[str, Any] | None:
    from batonflow.sdk.wire import BatonApiError

    try:
        return client.get_workflow(workflow_id)
    except BatonApiError as error:
        if error.status == 404:
            return None
        raise


_crash_filter_lock = threading.Lock()


class _InjectedCrashes(logging.Filter):
    """Drops the event sources' tracebacks of the crashes the run injected itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "InvocationCrashed"


def _quiet_injected_crashes() -> None:
    logger = logging.getLogger("batonflow.emulator.event_sources")
    with _crash_filter_lock:
        if not any(isinstance(f, _InjectedCrashes) for f in logger.filters):
            logger.addFilter(_InjectedCrashes())
