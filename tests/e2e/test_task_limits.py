"""A task definition's ``concurrentExecLimit`` and rate limit on ``baton up``, seen by REST workers that
would take every task at once if the engine let them."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
import requests

from tests.e2e.helpers import HTTP_TIMEOUT_S, register, start, task, unique, wait_for_terminal

pytestmark = pytest.mark.e2e

HOLD_S = 0.3


def eager_workers(api: str, task_type: str, threads: int, stop: threading.Event) -> list[threading.Thread]:
    """``threads`` workers polling one task each, holding it ``HOLD_S`` before completing it."""

    def serve() -> None:
        while not stop.is_set():
            response = requests.get(
                f"{api}/tasks/poll/batch/{task_type}",
                params={"count": 1, "timeout": 50, "workerid": threading.current_thread().name},
                timeout=HTTP_TIMEOUT_S,
            )
            for polled in response.json() if response.status_code == 200 else []:
                time.sleep(HOLD_S)
                result = {
                    "workflowInstanceId": polled["workflowInstanceId"],
                    "taskId": polled["taskId"],
                    "status": "COMPLETED",
                    "outputData": {},
                }
                requests.post(f"{api}/tasks", json=result, timeout=HTTP_TIMEOUT_S)

    workers = [threading.Thread(target=serve, name=f"eager-{i}", daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    return workers


def run_three(api: str, task_def: dict[str, Any]) -> list[dict[str, Any]]:
    """Start three one-task workflows under ``task_def`` with three eager workers; their finished tasks."""
    name = task_def["name"]
    workflow = {"name": name, "version": 1, "tasks": [task("only", name=name)]}
    register(api, workflow, task_defs=[task_def])
    stop = threading.Event()
    workers = eager_workers(api, name, 3, stop)
    try:
        ids = [start(api, name, {"n": n}) for n in range(3)]
        finished = [wait_for_terminal(api, workflow_id) for workflow_id in ids]
    finally:
        stop.set()
        for worker in workers:
            worker.join(HTTP_TIMEOUT_S)
    assert [w["status"] for w in finished] == ["COMPLETED"] * 3
    return sorted((w["tasks"][0] for w in finished), key=lambda t: t["startTime"])


def test_a_concurrency_limit_of_one_runs_the_tasks_one_after_another(api: str):
    tasks = run_three(api, {"name": unique("one_at_a_time_"), "concurrentExecLimit": 1})
    for earlier, later in itertools.pairwise(tasks):
        assert later["startTime"] >= earlier["endTime"], (earlier, later)


def test_a_rate_limit_spreads_the_starts_over_windows(api: str):
    task_def = {"name": unique("one_per_2s_"), "rateLimitPerFrequency": 1, "rateLimitFrequencyInSeconds": 2}
    starts = [t["startTime"] for t in run_three(api, task_def)]
    # one start per 2-second window: the third starts in the window two after the first one's, at least
    # 2 s after the first one's window began (eager workers with no limit would take all three at once)
    assert starts[2] - starts[0] >= 1500, starts
