"""One chaos run: a stack with a fault profile, the mix of workflows, its workers, the verdicts.

By default the run starts a fresh local stack injecting the profile's faults. It runs on the real clock
(WAIT and timeouts take real seconds) with the sweeper every :data:`SWEEP_INTERVAL_S`; the sweeper repairs
a wake-up only once it is :data:`SWEEP_GRACE_S` overdue, so a workflow that lost a timer finishes about a
minute late, and one with nothing moving for longer than :data:`SWEEP_BOUND_S` is stuck. The run waits
until every workflow finished, or nothing finished for a sweep bound, or the deadline passed. The API is
left without faults: it answers the run's own client.

With ``url`` the run attaches to a running stack instead (``baton up --faults ...``, or one on AWS): its
faults are whatever that stack injects, its workers find the queues in the environment ``baton up`` prints
(as ``baton worker`` does), and it follows the workflows through the REST API.

What a seed reproduces: the plan (:func:`batonflow.chaos.workloads.plan`: every workflow's kind, input and
expected output) always; on a fresh stack also the workflow ids (seeded idempotency keys), hence the task
ids and message contents the fault decisions key on (:mod:`batonflow.emulator.faults`). Not the timing:
which messages SQS batches together, timestamps in requests, which thread wins a race.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
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
"""A new workflow's first deadline (``batonflow.service.starting.START_GRACE_MS``): a start that died before
its effects (its first tasks' sends, or the decider's wake-up) is noticed by the sweeper only a grace after
it."""
SWEEP_BOUND_S = START_GRACE_S + SWEEP_GRACE_S + SWEEP_INTERVAL_S + 15.0
"""How long a workflow may sit without progress before it counts as stuck: the longest repair the sweeper
makes (a start that died before its effects), one sweep, slack."""
_WORKER_CONCURRENCY = 20
_LEASE_S = 3
IN_FLIGHT = 100
"""Workflows running at once at most."""
_RETRIES = {definition["name"]: int(definition["retryCount"]) for definition in workloads.TASK_DEFS}


@dataclass
class Started:
    workflow_id: str
    planned: workloads.Planned


@dataclass
class Target:
    """What a run needs of the stack it runs on."""

    client: Any
    """A :class:`batonflow.sdk.BatonClient` for its API."""
    worker_settings: Any
    """The :class:`batonflow.sdk.WorkerSettings` of its queues."""
    finished: Callable[[list[str]], set[str]]
    """Which of these workflow ids are in a terminal status."""
    faults: FaultInjector | None
    fresh: bool
    """Started for this run: seeded idempotency keys give its workflows the same ids in every run."""


@dataclass
class ChaosResult:
    profile: FaultProfile
    verdicts: list[Verdict]
    injected: dict[str, int]
    duration_s: float
    worker_executions: int = 0
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    url: str | None = None
    """The stack attached to, whose faults are its own (None: a fresh stack injecting :attr:`profile`)."""

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
            "faults": str(self.profile) if self.url is None else "the attached stack's",
            "seed": self.profile.seed,
            "url": self.url,
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


_runs = itertools.count(1)


@contextmanager
def chaos_stack(profile: FaultProfile) -> Iterator[Any]:
    """A fresh local stack injecting ``profile``'s faults, its API in this process (one at a time).

    moto's state is process-wide, so a second run in one process gets a stack of another name
    (``baton-chaos-2``, ...) rather than the first run's tables, which hold workflows with the same seeded
    ids; the first run of every process is ``baton-chaos``."""
    from batonflow.emulator import BatonStack

    run = next(_runs)
    with BatonStack(
        faults=profile,
        api_concurrency=1,
        schedule_interval_s=SWEEP_INTERVAL_S,
        parameters={"LogLevel": "ERROR"},
        stack_name="baton-chaos" if run == 1 else f"baton-chaos-{run}",
    ) as stack:
        yield stack


@contextmanager
def _fresh_target(profile: FaultProfile) -> Iterator[Target]:
    from batonflow.sdk import BatonClient, WorkerSettings
    from batonflow.store.executions import ExecutionStore

    with chaos_stack(profile) as stack:
        executions = ExecutionStore(stack.client("dynamodb"), stack.resources["BatonTable"].ref)

        def finished(ids: list[str]) -> set[str]:
            headers = executions.load_headers(ids)
            return {wid for wid, workflow in headers.items() if workflow.status.is_terminal}

        client = BatonClient(stack.api_url, timeout_s=60.0)
        settings = WorkerSettings.from_env(stack.worker_environment(), worker_id="baton-chaos")
        try:
            yield Target(client, settings, finished, stack.faults, fresh=True)
        finally:
            client.close()


@contextmanager
def _attached_target(url: str, environ: Mapping[str, str]) -> Iterator[Target]:
    """The stack at ``url``; auth from ``environ`` as for every ``baton`` command, queues from the
    variables ``baton up`` prints (:meth:`WorkerSettings.from_env` raises ``WorkerConfigError`` without
    them)."""
    from batonflow.sdk import BatonClient, WorkerSettings
    from batonflow.sdk.client import TERMINAL_WORKFLOW_STATUSES

    settings = WorkerSettings.from_env(environ, worker_id="baton-chaos")
    client = BatonClient.from_env({**environ, "BATON_API_URL": url}, timeout_s=60.0)

    def finished(ids: list[str]) -> set[str]:
        return {
            wid
            for wid in ids
            if client.get_workflow(wid, include_tasks=False).get("status") in TERMINAL_WORKFLOW_STATUSES
        }

    try:
        yield Target(client, settings, finished, faults=None, fresh=False)
    finally:
        client.close()


def run_chaos(
    *,
    workflows: int,
    profile: FaultProfile,
    deadline_s: float | None = None,
    kinds: Collection[str] | None = None,
    progress: Progress = lambda *_: None,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ChaosResult:
    """Run ``workflows`` workflows of the mix and judge each one: on a fresh stack under ``profile``, or,
    with ``url``, on the stack there under its own faults (``profile`` then only gives the seed).

    ``deadline_s`` (default ten minutes) bounds the wait after the last start (starting waits only for
    room under :data:`IN_FLIGHT`);
    ``kinds`` narrows the mix to those workload kinds;
    ``environ`` (default ``os.environ``) is where an attached run finds its auth and queues.
    """
    mix = [workload for workload in workloads.MIX if kinds is None or workload.kind in kinds]
    if not mix:
        raise ValueError(f"no workload of the kinds {sorted(kinds or [])}")
    started_at = time.monotonic()
    _quiet_injected_crashes()
    target = (
        _fresh_target(profile)
        if url is None
        else _attached_target(url, os.environ if environ is None else environ)
    )
    with target as stack:
        verdicts, ledger = _run(stack, workloads.plan(profile.seed, workflows, mix), deadline_s, progress)
        injected = stack.faults.snapshot() if stack.faults is not None else {}
    by_kind: dict[str, Counter[str]] = {}
    for verdict in verdicts:
        by_kind.setdefault(verdict.kind, Counter())[verdict.outcome] += 1
    return ChaosResult(
        profile=profile,
        verdicts=verdicts,
        injected=injected,
        duration_s=time.monotonic() - started_at,
        worker_executions=sum(ledger.executions.values()),
        by_kind=by_kind,
        url=url,
    )


def _run(
    stack: Target, planned: list[workloads.Planned], deadline_s: float | None, progress: Progress
) -> tuple[list[Verdict], workloads.WorkerLedger]:
    """Register the definitions, run the workers, start the plan, wait, judge."""
    from batonflow.sdk import Worker

    client = stack.client
    chaos_workers = workloads.ChaosWorkers()
    client.register_task_defs(workloads.TASK_DEFS)
    for workload in workloads.MIX:
        client.register_workflow_def(workload.definition)
    workers = [
        Worker(task_type, fn, concurrency=_WORKER_CONCURRENCY, lease_seconds=_LEASE_S, wait_seconds=1)
        for task_type, fn in chaos_workers.functions().items()
    ]
    chance = stack.faults.chance if stack.faults is not None else lambda kind, key: False
    rest = RestWorker(client.api_url, workloads.SLOW_TASK, chaos_workers.ledger, chance=chance)
    for worker in workers:
        worker.start(stack.worker_settings)
    rest.start()
    try:
        running = _Running(stack.finished, progress, len(planned))
        started = _start_all(client, running, planned, seeded=stack.fresh, progress=progress)
        running.wait(0, time.monotonic() + (600.0 if deadline_s is None else deadline_s))
        return _judge(client, started, chaos_workers.ledger, stack.faults, progress), chaos_workers.ledger
    finally:
        rest.stop()
        for worker in workers:
            worker.stop(grace_seconds=5)


def _start_all(
    client: Any, running: _Running, planned: list[workloads.Planned], *, seeded: bool, progress: Progress
) -> list[Started]:
    """Start the planned workflows, at most :data:`IN_FLIGHT` unfinished at a time (deep queues make the
    local SQS slow for everyone, and the run is about correctness, not throughput).

    ``seeded``: start each with an idempotency key made of the seed's plan, so its workflow id is the
    same in every run (on a stack that may hold an earlier run's workflows, that would find those)."""
    started = []
    for each in planned:
        running.wait(IN_FLIGHT - 1, math.inf)  # if it gives up, the rest start anyway and are judged
        workflow_id = client.start_workflow(
            each.workload.name,
            each.input,
            correlation_id=f"chaos-{each.index}",
            idempotency_key=each.idempotency_key if seeded else None,
        )
        started.append(Started(workflow_id, each))
        running.add(workflow_id)
        progress("start", each.index + 1, len(planned))
    return started


class _Running:
    """The started workflows not seen finished yet (asked of the stack in pages of 100)."""

    def __init__(self, finished: Callable[[list[str]], set[str]], progress: Progress, total: int) -> None:
        self._finished_of = finished
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
            finished: set[str] = set()
            for start in range(0, len(ids), 100):
                finished |= self._finished_of(ids[start : start + 100])
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
            run.planned.expected,
            workflow_id=run.workflow_id,
            kind=run.planned.workload.kind,
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
