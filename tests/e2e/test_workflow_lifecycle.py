"""Pause, resume, remove and the running / correlated lookups over HTTP on ``baton up``, as a Conductor
client drives them."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.helpers import (
    HTTP_TIMEOUT_S,
    TIMEOUT_S,
    RestWorkers,
    get_workflow,
    register,
    start,
    task,
    unique,
    wait_for_terminal,
)

pytestmark = pytest.mark.e2e


def wait_until(api: str, workflow_id: str, condition: Any, what: str) -> dict[str, Any]:
    """Poll the workflow until ``condition(workflow)`` holds; fail the test after ``TIMEOUT_S``."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        workflow = get_workflow(api, workflow_id)
        if condition(workflow):
            return workflow
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"workflow {workflow_id}: no {what} after {TIMEOUT_S}s: {workflow['status']}"
            )
        time.sleep(0.1)


def two_steps(api: str) -> str:
    prefix = unique("pause")
    register(
        api,
        {"name": prefix, "tasks": [task("first", name=f"{prefix}_a"), task("second", name=f"{prefix}_b")]},
        task_defs=[{"name": f"{prefix}_a", "retryCount": 0}, {"name": f"{prefix}_b", "retryCount": 0}],
    )
    return prefix


def test_a_paused_workflow_holds_its_next_task_until_resumed_then_completes(api: str):
    prefix = two_steps(api)
    workflow_id = start(api, prefix, {})
    wait_until(api, workflow_id, lambda w: len(w["tasks"]) == 1, "first task")
    assert (
        requests.put(f"{api}/workflow/{workflow_id}/pause", json={}, timeout=HTTP_TIMEOUT_S).status_code
        == 200
    )

    workers = {f"{prefix}_a": lambda polled: {"a": 1}, f"{prefix}_b": lambda polled: {"b": 2}}
    with RestWorkers(api, workers):
        paused = wait_until(
            api, workflow_id, lambda w: w["tasks"][0]["status"] == "COMPLETED", "completed first task"
        )
        assert paused["status"] == "PAUSED"
        status = requests.get(f"{api}/workflow/{workflow_id}/status", timeout=HTTP_TIMEOUT_S).json()
        assert status == {"workflowId": workflow_id, "status": "PAUSED"}

        resumed = requests.put(f"{api}/workflow/{workflow_id}/resume", json={}, timeout=HTTP_TIMEOUT_S)
        assert resumed.status_code == 200
        done = wait_for_terminal(api, workflow_id)

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    assert [(t["referenceTaskName"], t["status"]) for t in done["tasks"]] == [
        ("first", "COMPLETED"),
        ("second", "COMPLETED"),
    ]
    assert done["lastRetriedTime"] > 0
    again = requests.put(f"{api}/workflow/{workflow_id}/resume", json={}, timeout=HTTP_TIMEOUT_S)
    assert again.status_code == 409
    assert again.json()["message"].endswith("is not PAUSED so cannot resume. Current status is COMPLETED")


def test_a_removed_workflow_is_gone(api: str):
    prefix = two_steps(api)
    workflow_id = start(api, prefix, {})
    wait_until(api, workflow_id, lambda w: len(w["tasks"]) == 1, "first task")

    removed = requests.delete(f"{api}/workflow/{workflow_id}/remove", json={}, timeout=HTTP_TIMEOUT_S)
    assert removed.status_code == 200

    assert requests.get(f"{api}/workflow/{workflow_id}", timeout=HTTP_TIMEOUT_S).status_code == 404
    again = requests.delete(f"{api}/workflow/{workflow_id}/remove", json={}, timeout=HTTP_TIMEOUT_S)
    assert again.status_code == 404
    assert again.json()["message"] == f"No such workflow found by id: {workflow_id}"
    polled = requests.get(f"{api}/tasks/poll/batch/{prefix}_a", params={"count": 5}, timeout=HTTP_TIMEOUT_S)
    assert polled.json() == []


def test_running_and_correlated_workflows_are_found_by_name(api: str):
    prefix = two_steps(api)
    response = requests.post(
        f"{api}/workflow/{prefix}", params={"correlationId": "order-1"}, json={}, timeout=HTTP_TIMEOUT_S
    )
    workflow_id = response.text
    other = start(api, prefix, {})
    assert requests.delete(f"{api}/workflow/{other}", timeout=HTTP_TIMEOUT_S).status_code == 200

    running = requests.get(f"{api}/workflow/running/{prefix}", timeout=HTTP_TIMEOUT_S)
    correlated = requests.get(f"{api}/workflow/{prefix}/correlated/order-1", timeout=HTTP_TIMEOUT_S)

    assert running.json() == [workflow_id]
    assert [(w["workflowId"], w["correlationId"]) for w in correlated.json()] == [(workflow_id, "order-1")]
