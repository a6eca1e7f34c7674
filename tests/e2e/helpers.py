"""Small helpers for e2e tests: definition builders, register/start/wait over HTTP, and REST workers in a
background thread.

Everything goes over the stack's HTTP API with plain ``requests``, as a conductor-python user would.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

import requests

TIMEOUT_S = 30
HTTP_TIMEOUT_S = 10


def unique(prefix: str) -> str:
    """A name prefix no other test on the shared stack uses."""
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def register(api: str, *workflows: dict[str, Any], task_defs: Iterable[dict[str, Any]] = ()) -> None:
    task_defs = list(task_defs)
    if task_defs:
        response = requests.post(f"{api}/metadata/taskdefs", json=task_defs, timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200, response.text
    response = requests.put(f"{api}/metadata/workflow", json=list(workflows), timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text


def start(api: str, name: str, workflow_input: dict[str, Any]) -> str:
    response = requests.post(f"{api}/workflow/{name}", json=workflow_input, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.text


def get_workflow(api: str, workflow_id: str) -> dict[str, Any]:
    response = requests.get(f"{api}/workflow/{workflow_id}?includeTasks=true", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_terminal(api: str, workflow_id: str, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """Poll until the workflow is terminal; fail the test if it is not within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        workflow = get_workflow(api, workflow_id)
        if workflow["status"] not in ("RUNNING", "PAUSED"):
            return workflow
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"workflow {workflow_id} still {workflow['status']} after {timeout_s}s: "
                f"{[(t['referenceTaskName'], t['status']) for t in workflow['tasks']]}"
            )
        time.sleep(0.1)


def run(api: str, name: str, workflow_input: dict[str, Any]) -> dict[str, Any]:
    """Start a workflow and return it once terminal."""
    return wait_for_terminal(api, start(api, name, workflow_input))


def by_ref(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The latest execution of every task reference."""
    return {task["referenceTaskName"]: task for task in workflow["tasks"]}


def task(ref: str, task_type: str = "SIMPLE", name: str | None = None, **fields: Any) -> dict[str, Any]:
    """A WorkflowTask; ``fields`` are Conductor's camelCase fields (``inputParameters``, ``joinOn``, ...)."""
    return {"name": name or ref, "taskReferenceName": ref, "type": task_type, **fields}


def inline(ref: str, expression: str, evaluator: str = "javascript", **inputs: Any) -> dict[str, Any]:
    parameters = {"evaluatorType": evaluator, "expression": expression, **inputs}
    return task(ref, "INLINE", inputParameters=parameters)


def jq(ref: str, query: str, **inputs: Any) -> dict[str, Any]:
    return task(ref, "JSON_JQ_TRANSFORM", inputParameters={"queryExpression": query, **inputs})


def set_variable(ref: str, **variables: Any) -> dict[str, Any]:
    return task(ref, "SET_VARIABLE", inputParameters=variables)


def poll_task(
    api: str, task_type: str, worker_id: str = "e2e-poller", within_s: float = TIMEOUT_S
) -> dict[str, Any]:
    """Poll ``task_type`` as a REST worker until one task is handed out; fail the test after ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        polled = poll_once(api, task_type, worker_id)
        if polled:
            return polled[0]
        assert time.monotonic() < deadline, f"no {task_type} task handed out within {within_s}s"


def poll_once(api: str, task_type: str, worker_id: str = "e2e-poller") -> list[dict[str, Any]]:
    """One batch poll of at most one task, waiting up to 100 ms (what conductor-python sends)."""
    params: dict[str, str | int] = {"count": 1, "timeout": 100, "workerid": worker_id}
    response = requests.get(f"{api}/tasks/poll/batch/{task_type}", params=params, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def update_task(api: str, polled: dict[str, Any], status: str, **fields: Any) -> None:
    """``POST /tasks`` for a polled task; ``fields`` are TaskResult fields (``outputData``, ...)."""
    result = {
        "workflowInstanceId": polled["workflowInstanceId"],
        "taskId": polled["taskId"],
        "status": status,
        **fields,
    }
    response = requests.post(f"{api}/tasks", json=result, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text


# A REST worker's handler maps a polled task to its output; raising fails the task with the message.
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class RestWorkers:
    """Conductor-style HTTP workers: poll ``/tasks/poll/batch/<type>`` and report with ``POST /tasks``.

    One background thread serves every given task type, until the ``with`` block ends.
    """

    def __init__(self, api: str, handlers: dict[str, Handler], worker_id: str = "e2e-rest") -> None:
        self.api = api
        self.handlers = handlers
        self.worker_id = worker_id
        self.handled: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="e2e-rest-workers", daemon=True)

    def __enter__(self) -> RestWorkers:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._thread.join(HTTP_TIMEOUT_S)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            for task_type, handler in self.handlers.items():
                for task in self._poll(task_type):
                    self._report(task, handler)

    def _poll(self, task_type: str) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"count": 5, "timeout": 50, "workerid": self.worker_id}
        response = requests.get(
            f"{self.api}/tasks/poll/batch/{task_type}", params=params, timeout=HTTP_TIMEOUT_S
        )
        return response.json() if response.status_code == 200 else []

    def _report(self, task: dict[str, Any], handler: Handler) -> None:
        result: dict[str, Any] = {
            "workflowInstanceId": task["workflowInstanceId"],
            "taskId": task["taskId"],
            "workerId": self.worker_id,
        }
        try:
            result.update(status="COMPLETED", outputData=handler(task))
        except Exception as error:  # a failing handler is a failed task, as in conductor-python
            result.update(status="FAILED", reasonForIncompletion=str(error))
        self.handled.append(task)
        requests.post(f"{self.api}/tasks", json=result, timeout=HTTP_TIMEOUT_S)
