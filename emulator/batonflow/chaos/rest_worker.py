"""A Conductor-style REST worker for ``chaos_slow``: poll over HTTP, report with ``POST /tasks``.

A polled task is IN_PROGRESS with a start time, so its ``timeoutSeconds`` and ``responseTimeoutSeconds``
run (a task held by an SQS worker stays SCHEDULED until its result, its lease standing for those
deadlines). The first attempt is held until the engine times it out and then reported anyway: a stale
result, which must change nothing. Worker faults drawn from the stack's injector: ``vanish`` (poll a task
and never answer: the response timeout reschedules it) and ``report_twice``, each keyed by the task id
(name-based, so the same attempt draws alike in every run of a seed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from batonflow.chaos.workloads import SLOW_HOLD_S, STALE_VALUE, WorkerLedger

_HTTP_TIMEOUT_S = 30
_IDLE_S = 0.2


class RestWorker:
    """Polls one task type in a thread; each polled task is handled in a thread of its own."""

    def __init__(
        self,
        api_url: str,
        task_type: str,
        ledger: WorkerLedger,
        *,
        chance: Callable[[str, str], bool] = lambda kind, key: False,
        worker_id: str = "baton-chaos-rest",
    ) -> None:
        self._api = api_url
        self._task_type = task_type
        self._ledger = ledger
        self._chance = chance
        self._worker_id = worker_id
        self._session = requests.Session()
        """For the poll loop's thread only."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"chaos-rest-{task_type}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(_HTTP_TIMEOUT_S)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                response = self._session.get(
                    f"{self._api}/tasks/poll/{self._task_type}",
                    params={"workerid": self._worker_id},
                    timeout=_HTTP_TIMEOUT_S,
                )
            except requests.RequestException:
                self._stop.wait(1.0)
                continue
            if response.status_code != 200 or not response.content:
                self._stop.wait(_IDLE_S)
                continue
            task = response.json()
            self._ledger.record(task["workflowInstanceId"], task["taskId"], int(task.get("retryCount") or 0))
            if self._chance("vanish", f"poll {task['taskId']}"):
                continue
            threading.Thread(target=self._handle, args=(task,), daemon=True).start()

    def _handle(self, task: dict[str, Any]) -> None:
        """The first attempt answers once the engine has given up on it; the others at once."""
        if int(task.get("retryCount") or 0) == 0:
            give_up = time.monotonic() + SLOW_HOLD_S
            while self._status(task["taskId"]) == "IN_PROGRESS" and time.monotonic() < give_up:
                if self._stop.wait(0.5):
                    return
            output = {"value": STALE_VALUE}
        else:
            output = {"value": task["inputData"]["value"] + 100}
        result = {
            "workflowInstanceId": task["workflowInstanceId"],
            "taskId": task["taskId"],
            "status": "COMPLETED",
            "outputData": output,
            "workerId": self._worker_id,
        }
        for _ in range(2 if self._chance("report_twice", f"report {task['taskId']}") else 1):
            requests.post(f"{self._api}/tasks", json=result, timeout=_HTTP_TIMEOUT_S)

    def _status(self, task_id: str) -> str:
        response = requests.get(f"{self._api}/tasks/{task_id}", timeout=_HTTP_TIMEOUT_S)
        return str(response.json().get("status")) if response.status_code == 200 else ""
