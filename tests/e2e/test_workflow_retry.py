"""``POST /api/workflow/{id}/retry`` over HTTP on ``baton up``: a failed workflow picks up where it failed."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.helpers import (
    HTTP_TIMEOUT_S,
    RestWorkers,
    by_ref,
    register,
    run,
    task,
    unique,
    wait_for_terminal,
)

pytestmark = pytest.mark.e2e


def test_a_failed_workflow_is_retried_at_its_failed_task_and_completes(api: str):
    prefix = unique("retry")
    register(
        api,
        {"name": prefix, "tasks": [task("first", name=f"{prefix}_a"), task("second", name=f"{prefix}_b")]},
        task_defs=[{"name": f"{prefix}_a", "retryCount": 0}, {"name": f"{prefix}_b", "retryCount": 0}],
    )
    calls: list[str] = []

    def second(polled: dict) -> dict:
        calls.append(polled["taskId"])
        if len(calls) == 1:
            raise RuntimeError("the first attempt fails")
        return {"attempt": len(calls)}

    with RestWorkers(api, {f"{prefix}_a": lambda polled: {"ok": True}, f"{prefix}_b": second}):
        failed = run(api, prefix, {})
        assert failed["status"] == "FAILED"
        assert (
            requests.post(f"{api}/workflow/{failed['workflowId']}/retry", timeout=HTTP_TIMEOUT_S).status_code
            == 204
        )
        done = wait_for_terminal(api, failed["workflowId"])

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    assert done["output"] == {"attempt": 2}
    assert by_ref(done)["second"]["retryCount"] == 1
    assert [t["referenceTaskName"] for t in done["tasks"]] == ["first", "second", "second"]
    assert done["lastRetriedTime"] > 0 and not done.get("reasonForIncompletion")

    again = requests.post(f"{api}/workflow/{failed['workflowId']}/retry", timeout=HTTP_TIMEOUT_S)
    assert again.status_code == 409
    assert again.json()["message"].startswith("There are no retryable tasks!")


def test_a_completed_workflow_restarts_from_its_first_task_with_new_task_ids(api: str):
    prefix = unique("restart")
    register(api, {"name": prefix, "tasks": [task("only", name=f"{prefix}_t")]})
    seen: list[str] = []

    def count(polled: dict) -> dict:
        seen.append(polled["taskId"])
        return {"run": len(seen)}

    with RestWorkers(api, {f"{prefix}_t": count}):
        first = run(api, prefix, {"x": 1})
        assert first["status"] == "COMPLETED"
        response = requests.post(f"{api}/workflow/{first['workflowId']}/restart", timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 204
        second = wait_for_terminal(api, first["workflowId"])

    assert second["status"] == "COMPLETED"
    assert second["output"] == {"run": 2} and second["input"] == {"x": 1}
    assert len(seen) == 2 and seen[0] != seen[1]
    assert [t["taskId"] for t in second["tasks"]] == [seen[1]]


def test_a_failed_workflow_is_rerun_from_its_failed_task_with_a_new_input(api: str):
    prefix = unique("rerun")
    register(
        api,
        {
            "name": prefix,
            "tasks": [
                task("first", name=f"{prefix}_a"),
                task("second", name=f"{prefix}_b", inputParameters={"m": "${first.output.m}"}),
            ],
        },
        task_defs=[{"name": f"{prefix}_a", "retryCount": 0}, {"name": f"{prefix}_b", "retryCount": 0}],
    )
    calls: list[dict] = []

    def second(polled: dict) -> dict:
        calls.append(polled)
        if len(calls) == 1:
            raise RuntimeError("the first run fails")
        return {"got": polled["inputData"]["m"]}

    with RestWorkers(api, {f"{prefix}_a": lambda polled: {"m": 2}, f"{prefix}_b": second}):
        failed = run(api, prefix, {})
        assert failed["status"] == "FAILED"
        workflow_id = failed["workflowId"]
        first, failed_second = failed["tasks"]
        unknown = requests.post(
            f"{api}/workflow/{workflow_id}/rerun", json={"reRunFromTaskId": "nope"}, timeout=HTTP_TIMEOUT_S
        )
        assert (unknown.status_code, unknown.json()["message"]) == (400, "Task nope not found")
        body = {"reRunFromTaskId": failed_second["taskId"], "taskInput": {"m": 9}}
        response = requests.post(f"{api}/workflow/{workflow_id}/rerun", json=body, timeout=HTTP_TIMEOUT_S)
        assert (response.status_code, response.text) == (200, workflow_id)
        done = wait_for_terminal(api, workflow_id)

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    assert done["output"] == {"got": 9}
    assert [c["inputData"] for c in calls] == [{"m": 2}, {"m": 9}]
    kept, again = done["tasks"]
    assert kept["taskId"] == first["taskId"] and kept["status"] == "COMPLETED"
    assert again["taskId"] == calls[1]["taskId"] != failed_second["taskId"]


def test_resuming_sub_workflow_tasks_retries_the_failed_child_and_the_parent_completes(api: str):
    prefix = unique("resume")
    child = {"name": f"{prefix}_child", "tasks": [task("work", name=f"{prefix}_w")]}
    parent = {
        "name": prefix,
        "tasks": [task("sub", "SUB_WORKFLOW", subWorkflowParam={"name": f"{prefix}_child"})],
        "outputParameters": {"attempt": "${sub.output.attempt}"},
    }
    register(api, child, parent, task_defs=[{"name": f"{prefix}_w", "retryCount": 0}])
    calls: list[str] = []

    def work(polled: dict) -> dict:
        calls.append(polled["taskId"])
        if len(calls) == 1:
            raise RuntimeError("the child's first attempt fails")
        return {"attempt": len(calls)}

    with RestWorkers(api, {f"{prefix}_w": work}):
        failed = run(api, prefix, {})
        assert failed["status"] == "FAILED"
        child_id = failed["tasks"][0]["subWorkflowId"]
        response = requests.post(
            f"{api}/workflow/{failed['workflowId']}/retry",
            params={"resumeSubworkflowTasks": "true"},
            timeout=HTTP_TIMEOUT_S,
        )
        assert response.status_code == 204, response.text
        done = wait_for_terminal(api, failed["workflowId"])

    assert (done["status"], done["output"]) == ("COMPLETED", {"attempt": 2})
    [sub] = done["tasks"]  # the same task and the same child, not a new attempt
    assert sub["subWorkflowId"] == child_id
    child_run = wait_for_terminal(api, child_id)
    assert [t["status"] for t in child_run["tasks"]] == ["FAILED", "COMPLETED"]
