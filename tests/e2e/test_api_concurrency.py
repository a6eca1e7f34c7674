"""The API serves concurrent requests, each in its own sandbox process, as Lambda does.

With one request at a time, a sync execute whose workflow needs a REST worker would hold the only
execution environment until ``waitForSeconds`` ran out while the worker's polls queued behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from batonflow.emulator import Invocation, direct_invoke
from batonflow.emulator.stack import BatonStack
from tests.e2e.helpers import HTTP_TIMEOUT_S, RestWorkers, register, task, unique

pytestmark = pytest.mark.e2e


def test_a_sync_execute_completes_while_a_rest_worker_polls_the_same_api(api: str):
    name = unique("conc")
    work = task("work", name=f"{name}_work", inputParameters={"n": "${workflow.input.n}"})
    register(
        api,
        {"name": name, "tasks": [work]},
        task_defs=[{"name": f"{name}_work", "retryCount": 0, "responseTimeoutSeconds": 30}],
    )

    def double(polled: dict[str, Any]) -> dict[str, Any]:
        return {"doubled": polled["inputData"]["n"] * 2}

    with RestWorkers(api, {f"{name}_work": double}) as workers:
        response = requests.post(
            f"{api}/workflow/execute/{name}/1?waitForSeconds=10",
            json={"input": {"n": 21}},
            timeout=HTTP_TIMEOUT_S * 3,
        )

    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], [t["status"] for t in run["tasks"]]) == ("COMPLETED", ["COMPLETED"])
    assert run["tasks"][0]["outputData"] == {"doubled": 42}
    assert [polled["workflowInstanceId"] for polled in workers.handled] == [run["workflowId"]]


class Intervals:
    """An invoke hook recording when each HTTP invocation ran, as the stack saw it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def __call__(self, invocation: Invocation) -> Any:
        began = time.monotonic()
        try:
            return direct_invoke(invocation)
        finally:
            if invocation.source == "http":
                with self._lock:
                    self.seen.append((invocation.event["rawPath"], began, time.monotonic()))


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[BatonStack, Intervals]]:
    intervals = Intervals()
    with BatonStack(
        port=0, stack_name="baton-e2e-overlap", api_concurrency=2, invoke=intervals, start_schedules=False
    ) as running:
        yield running, intervals


def test_two_long_polls_run_at_the_same_time(recorded: tuple[BatonStack, Intervals]):
    stack, intervals = recorded
    task_type = unique("idle")
    url = f"{stack.api_url}/api/tasks/poll/batch/{task_type}"

    def long_poll(worker: str) -> requests.Response:
        params: dict[str, str | int] = {"count": 1, "timeout": 1000, "workerid": worker}
        return requests.get(url, params=params, timeout=HTTP_TIMEOUT_S)

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(long_poll, ["w1", "w2"]))

    assert [(r.status_code, r.json()) for r in responses] == [(200, []), (200, [])]
    polls = [(began, ended) for path, began, ended in intervals.seen if path.endswith(task_type)]
    assert len(polls) == 2
    assert max(began for began, _ in polls) < min(ended for _, ended in polls), polls


def test_the_api_runs_in_sandbox_processes(recorded: tuple[BatonStack, Intervals]):
    stack, _ = recorded

    assert [(pool.name, pool.size, len(pool.pids)) for pool in stack.sandbox_pools] == [("ApiFunction", 2, 2)]
    assert requests.get(f"{stack.api_url}/health", timeout=HTTP_TIMEOUT_S).json() == {"healthy": True}
