"""Task search over HTTP on ``baton up``, with the query string conductor-python sends."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.helpers import (
    HTTP_TIMEOUT_S,
    TIMEOUT_S,
    get_workflow,
    register,
    start,
    task,
    unique,
    wait_for_terminal,
)

pytestmark = pytest.mark.e2e


def first_task(api: str, workflow_id: str) -> dict[str, Any]:
    """The first task once the first decide (right after the start) has scheduled it."""
    deadline = time.monotonic() + TIMEOUT_S
    while not (tasks := get_workflow(api, workflow_id)["tasks"]):
        assert time.monotonic() < deadline, f"no task was scheduled in {workflow_id}"
        time.sleep(0.05)
    return tasks[0]


def test_search_finds_tasks_by_workflow_type_status_workflow_and_task_id(api: str):
    name = unique("tasksearch")
    register(
        api,
        {"name": name, "tasks": [task("work", name=f"{name}_work")]},
        task_defs=[{"name": f"{name}_work", "retryCount": 0, "responseTimeoutSeconds": 30}],
    )
    waiting, failing = start(api, name, {"n": 1}), start(api, name, {"n": 2})
    scheduled, failed = first_task(api, waiting), first_task(api, failing)
    response = requests.post(
        f"{api}/tasks/{failing}/work/FAILED?workerid=e2e", json={"why": "no"}, timeout=HTTP_TIMEOUT_S
    )
    assert response.status_code == 200, response.text
    assert wait_for_terminal(api, failing)["status"] == "FAILED"

    # what TaskResourceApi.search(start=0, size=10, free_text="*", query=...) sends
    by_status = requests.get(
        f"{api}/tasks/search?start=0&size=10&freeText=*&query=workflowType+%3D+%27{name}%27+AND+status+%3D+SCHEDULED",
        timeout=HTTP_TIMEOUT_S,
    )
    of_workflow = requests.get(
        f"{api}/tasks/search-v2", params={"query": f"workflowId = '{failing}'"}, timeout=HTTP_TIMEOUT_S
    )
    by_task_id = requests.get(
        f"{api}/tasks/search", params={"freeText": failed["taskId"]}, timeout=HTTP_TIMEOUT_S
    )
    unscoped = requests.get(
        f"{api}/tasks/search", params={"query": "status = FAILED"}, timeout=HTTP_TIMEOUT_S
    )

    assert by_status.status_code == 200, by_status.text
    assert by_status.json()["totalHits"] == 1
    row = by_status.json()["results"][0]
    assert (row["taskId"], row["workflowId"], row["status"]) == (scheduled["taskId"], waiting, "SCHEDULED")
    assert row["workflowType"] == name and row["input"] == "{}"
    assert of_workflow.json()["totalHits"] == 1
    found = of_workflow.json()["results"][0]
    assert found == requests.get(f"{api}/tasks/{failed['taskId']}", timeout=HTTP_TIMEOUT_S).json()
    assert (found["status"], found["workerId"], found["outputData"]) == ("FAILED", "e2e", {"why": "no"})
    assert [r["taskId"] for r in by_task_id.json()["results"]] == [failed["taskId"]]
    assert unscoped.status_code == 400
    assert "must be scoped" in unscoped.json()["message"]
