"""Workflow operations on ``baton up`` over HTTP (REFERENCE §3.9, §3.10, §3.14, §5.2 to §5.4): the failure
workflow, idempotent starts, skip-task, task logs, the bulk calls, terminate and status, and the refusals
of operations a workflow's state does not allow, with Conductor's codes and error JSON."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.helpers import (
    HTTP_TIMEOUT_S,
    TIMEOUT_S,
    RestWorkers,
    get_workflow,
    poll_task,
    register,
    run,
    set_variable,
    task,
    unique,
    update_task,
    wait_for_terminal,
)

pytestmark = pytest.mark.e2e


def two_steps(api: str, **workflow: Any) -> str:
    """Register workflow ``prefix``: ``first`` (type ``<prefix>_a``) then ``second`` (``<prefix>_b``)."""
    prefix = unique("ops")
    steps = [task("first", name=f"{prefix}_a"), task("second", name=f"{prefix}_b")]
    register(
        api,
        {"name": prefix, "tasks": steps, "outputParameters": {"b": "${second.output.v}"}, **workflow},
        task_defs=[
            {"name": f"{prefix}_a", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": f"{prefix}_b", "retryCount": 0, "responseTimeoutSeconds": 30},
        ],
    )
    return prefix


def wait_for_tasks(api: str, workflow_id: str, count: int) -> dict[str, Any]:
    """The workflow once it has ``count`` tasks (the decider runs after the start has answered)."""
    deadline = time.monotonic() + TIMEOUT_S
    while len((workflow := get_workflow(api, workflow_id))["tasks"]) != count:
        assert time.monotonic() < deadline, f"{workflow_id} has no {count} tasks after {TIMEOUT_S}s"
        time.sleep(0.05)
    return workflow


def started(api: str, name: str, **request: Any) -> str:
    """Start ``name`` with a StartWorkflowRequest and wait until its first task is scheduled."""
    response = requests.post(f"{api}/workflow", json={"name": name, **request}, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    wait_for_tasks(api, response.text, 1)
    return response.text


def workers(prefix: str) -> dict[str, Any]:
    return {f"{prefix}_a": lambda polled: {"a": 1}, f"{prefix}_b": lambda polled: {"v": "done"}}


def assert_error(response: requests.Response, status: int, message: str) -> None:
    """Conductor's error JSON: ``{status, message, instance, retryable}``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["status"], body["message"], body["retryable"]) == (status, message, False)
    assert isinstance(body["instance"], str) and body["instance"]


# -- failure workflow and terminate ------------------------------------------------------------------------
def test_a_failed_workflow_starts_its_failure_workflow_with_conductors_input(api: str):
    prefix = unique("failing")
    handler = {
        "name": f"{prefix}_on_failure",
        "tasks": [set_variable("note", seen="${workflow.input.workflowId}")],
        "outputParameters": {
            "failed": "${workflow.input.workflowId}",
            "status": "${workflow.input.failureStatus}",
        },
    }
    main = {
        "name": prefix,
        "tasks": [task("charge", name=f"{prefix}_charge")],
        "failureWorkflow": f"{prefix}_on_failure",
    }
    register(api, handler, main, task_defs=[{"name": f"{prefix}_charge", "retryCount": 0}])

    def decline(polled: dict) -> dict:
        raise RuntimeError("card declined")

    with RestWorkers(api, {f"{prefix}_charge": decline}):
        workflow_id = started(api, prefix, input={"order": 7}, correlationId="order-7")
        failed = wait_for_terminal(api, workflow_id)

    assert failed["status"] == "FAILED"
    [charge] = failed["tasks"]
    assert failed["reasonForIncompletion"] == (
        f"Task {charge['taskId']} failed with status: FAILED and reason: 'card declined'"
    )
    failure_id = failed["output"]["conductor.failure_workflow"]
    failure = wait_for_terminal(api, failure_id)
    assert (failure["workflowName"], failure["status"], failure["correlationId"]) == (
        f"{prefix}_on_failure",
        "COMPLETED",
        "order-7",
    )
    given = failure["input"]
    assert {
        key: given[key] for key in ("order", "workflowId", "reason", "failureStatus", "failureTaskId")
    } == {
        "order": 7,
        "workflowId": workflow_id,
        "reason": failed["reasonForIncompletion"],
        "failureStatus": "FAILED",
        "failureTaskId": charge["taskId"],
    }
    snapshot = given["failedWorkflow"]
    assert (snapshot["workflowId"], snapshot["status"], snapshot["input"]) == (
        workflow_id,
        "FAILED",
        {"order": 7},
    )
    assert [(t["taskId"], t["status"]) for t in snapshot["tasks"]] == [(charge["taskId"], "FAILED")]
    assert failure["output"] == {"failed": workflow_id, "status": "FAILED"}


def test_terminate_with_a_reason_cancels_the_running_task_and_starts_no_failure_workflow(api: str):
    prefix = two_steps(api, failureWorkflow="never_started", variables={"stage": "one"})
    workflow_id = started(api, prefix, input={"n": 1}, correlationId="c-1")

    response = requests.delete(
        f"{api}/workflow/{workflow_id}", params={"reason": "customer cancelled"}, timeout=HTTP_TIMEOUT_S
    )

    assert (response.status_code, response.text) == (200, "")
    ended = get_workflow(api, workflow_id)
    assert (ended["status"], ended["reasonForIncompletion"]) == ("TERMINATED", "customer cancelled")
    assert [(t["referenceTaskName"], t["status"]) for t in ended["tasks"]] == [("first", "CANCELED")]
    assert ended["endTime"] >= ended["createTime"] > 0
    assert "conductor.failure_workflow" not in ended["output"]
    polled = requests.get(f"{api}/tasks/poll/batch/{prefix}_a", params={"count": 1}, timeout=HTTP_TIMEOUT_S)
    assert polled.json() == []

    status = requests.get(f"{api}/workflow/{workflow_id}/status", timeout=HTTP_TIMEOUT_S)
    assert status.json() == {"workflowId": workflow_id, "correlationId": "c-1", "status": "TERMINATED"}
    full = requests.get(
        f"{api}/workflow/{workflow_id}/status",
        params={"includeOutput": "true", "includeVariables": "true"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert full.json() == {
        "workflowId": workflow_id,
        "correlationId": "c-1",
        "status": "TERMINATED",
        "output": ended["output"],
        "variables": {"stage": "one"},
    }

    again = requests.delete(
        f"{api}/workflow/{workflow_id}", params={"reason": "twice"}, timeout=HTTP_TIMEOUT_S
    )
    assert again.status_code == 200
    assert get_workflow(api, workflow_id) == ended


# -- idempotent start -------------------------------------------------------------------------------------
def test_a_repeated_idempotency_key_returns_the_first_workflow_or_a_409(api: str):
    prefix = two_steps(api)
    key = unique("order-")
    request = {
        "name": prefix,
        "input": {"n": 1},
        "idempotencyKey": key,
        "idempotencyStrategy": "RETURN_EXISTING",
    }

    first = requests.post(f"{api}/workflow", json=request, timeout=HTTP_TIMEOUT_S)
    second = requests.post(f"{api}/workflow", json={**request, "input": {"n": 2}}, timeout=HTTP_TIMEOUT_S)
    refused = requests.post(
        f"{api}/workflow", json={**request, "idempotencyStrategy": "FAIL"}, timeout=HTTP_TIMEOUT_S
    )

    assert first.status_code == 200 and first.text
    assert (second.status_code, second.text) == (200, first.text)
    assert_error(refused, 409, f"Workflow with idempotencyKey {key} already exists: {first.text}")
    assert get_workflow(api, first.text)["input"] == {"n": 1}
    running = requests.get(f"{api}/workflow/running/{prefix}", timeout=HTTP_TIMEOUT_S)
    assert running.json() == [first.text]


def test_eight_racing_starts_with_one_key_get_one_workflow(api: str):
    prefix = two_steps(api)
    request = {
        "name": prefix,
        "input": {},
        "idempotencyKey": unique("race-"),
        "idempotencyStrategy": "RETURN_EXISTING",
    }
    gate = threading.Barrier(8)

    def race(_: int) -> tuple[int, str]:
        gate.wait()
        response = requests.post(f"{api}/workflow", json=request, timeout=HTTP_TIMEOUT_S)
        return response.status_code, response.text

    with ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(race, range(8)))

    assert len(answers) == 1, answers
    [(status, workflow_id)] = answers
    assert status == 200, workflow_id
    wait_for_tasks(api, workflow_id, 1)
    assert requests.get(f"{api}/workflow/running/{prefix}", timeout=HTTP_TIMEOUT_S).json() == [workflow_id]
    assert [t["referenceTaskName"] for t in get_workflow(api, workflow_id)["tasks"]] == ["first"]


# -- skip task, task logs ---------------------------------------------------------------------------------
def test_a_skipped_task_is_jumped_over_with_the_given_output(api: str):
    prefix = two_steps(api)
    workflow_id = started(api, prefix)

    skipped = requests.put(
        f"{api}/workflow/{workflow_id}/skiptask/second",
        params={"taskOutput": '{"v": "skipped"}'},
        json={},
        timeout=HTTP_TIMEOUT_S,
    )
    assert (skipped.status_code, skipped.text) == (200, "")
    with RestWorkers(api, workers(prefix)) as rest:
        done = wait_for_terminal(api, workflow_id)

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    assert [(t["referenceTaskName"], t["status"]) for t in done["tasks"]] == [
        ("first", "COMPLETED"),
        ("second", "SKIPPED"),
    ]
    assert done["output"] == {"b": "skipped"}
    assert [t["taskType"] for t in rest.handled] == [f"{prefix}_a"]  # nobody ran the skipped task


def test_task_logs_from_the_log_endpoint_and_from_a_result_are_read_back(api: str):
    prefix = two_steps(api)
    started(api, prefix)
    polled = poll_task(api, f"{prefix}_a")
    task_id = polled["taskId"]
    logs_url = f"{api}/tasks/{task_id}/log"
    none = requests.get(logs_url, timeout=HTTP_TIMEOUT_S)
    assert (none.status_code, none.text) == (204, "")

    added = requests.post(
        logs_url,
        data="charging card 4242",
        headers={"Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert added.status_code == 200, added.text
    update_task(api, polled, "COMPLETED", logs=[{"log": "charged", "createdTime": 1700000000000}])
    logs = requests.get(logs_url, timeout=HTTP_TIMEOUT_S)

    assert logs.status_code == 200
    by_text = {entry["log"]: entry for entry in logs.json()}
    assert sorted(by_text) == ["charged", "charging card 4242"]
    assert by_text["charged"] == {"log": "charged", "taskId": task_id, "createdTime": 1700000000000}
    assert by_text["charging card 4242"]["taskId"] == task_id
    assert by_text["charging card 4242"]["createdTime"] >= polled["startTime"]
    assert requests.post(f"{api}/tasks/nope/log", data="x", timeout=HTTP_TIMEOUT_S).status_code == 404


# -- bulk -------------------------------------------------------------------------------------------------
def bulk(api: str, method: str, operation: str, ids: list[str], **params: str) -> dict[str, Any]:
    response = requests.request(
        method, f"{api}/workflow/bulk/{operation}", params=params, json=ids, timeout=HTTP_TIMEOUT_S
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Bulk Request has been processed."
    return body


def statuses(api: str, *workflow_ids: str) -> list[str]:
    return [get_workflow(api, workflow_id)["status"] for workflow_id in workflow_ids]


def test_bulk_pause_resume_terminate_retry_and_restart_report_each_workflow(api: str):
    prefix = two_steps(api)
    one, two, three = (started(api, prefix) for _ in range(3))
    first_task_of_two = get_workflow(api, two)["tasks"][0]["taskId"]

    paused = bulk(api, "PUT", "pause", [one, two, "nope"])
    assert paused["bulkSuccessfulResults"] == [one, two]
    assert paused["bulkErrorResults"] == {"nope": "No such workflow found by id: nope"}
    assert statuses(api, one, two, three) == ["PAUSED", "PAUSED", "RUNNING"]

    resumed = bulk(api, "PUT", "resume", [one, two, three])
    assert resumed["bulkSuccessfulResults"] == [one, two]
    assert resumed["bulkErrorResults"] == {
        three: f"The workflow {three} is not PAUSED so cannot resume. Current status is RUNNING"
    }
    assert statuses(api, one, two, three) == ["RUNNING"] * 3

    terminated = bulk(api, "POST", "terminate", [one, two], reason="cleanup")
    assert (terminated["bulkSuccessfulResults"], terminated["bulkErrorResults"]) == ([one, two], {})
    for workflow_id in (one, two):
        ended = get_workflow(api, workflow_id)
        assert (ended["status"], ended["reasonForIncompletion"]) == ("TERMINATED", "cleanup")
        assert [t["status"] for t in ended["tasks"]] == ["CANCELED"]

    still_running = {three: "Workflow is still running.  status=RUNNING"}
    retried = bulk(api, "POST", "retry", [one, three])
    assert (retried["bulkSuccessfulResults"], retried["bulkErrorResults"]) == ([one], still_running)
    again = get_workflow(api, one)
    assert again["status"] == "RUNNING" and not again.get("reasonForIncompletion")
    assert [(t["referenceTaskName"], t["status"], t["retryCount"]) for t in again["tasks"]] == [
        ("first", "CANCELED", 0),
        ("first", "SCHEDULED", 1),
    ]

    restarted = bulk(api, "POST", "restart", [two, three])
    assert (restarted["bulkSuccessfulResults"], restarted["bulkErrorResults"]) == ([two], still_running)
    fresh = wait_for_tasks(api, two, 1)
    assert fresh["status"] == "RUNNING"
    assert fresh["tasks"][0]["taskId"] != first_task_of_two

    with RestWorkers(api, workers(prefix)):
        done = [wait_for_terminal(api, workflow_id) for workflow_id in (one, two, three)]
    assert [(w["status"], w["output"]) for w in done] == [("COMPLETED", {"b": "done"})] * 3


# -- refusals ---------------------------------------------------------------------------------------------
def test_operations_a_running_workflow_does_not_allow_are_refused_and_change_nothing(api: str):
    prefix = two_steps(api)
    workflow_id = started(api, prefix)
    before = get_workflow(api, workflow_id)
    url = f"{api}/workflow/{workflow_id}"
    still_running = "Workflow is still running.  status=RUNNING"

    refusals = [
        (requests.post(f"{url}/retry", timeout=HTTP_TIMEOUT_S), 404, still_running),
        (
            requests.put(f"{url}/resume", json={}, timeout=HTTP_TIMEOUT_S),
            409,
            f"The workflow {workflow_id} is not PAUSED so cannot resume. Current status is RUNNING",
        ),
        (requests.post(f"{url}/restart", timeout=HTTP_TIMEOUT_S), 409, still_running),
        (requests.post(f"{url}/rerun", json={}, timeout=HTTP_TIMEOUT_S), 409, still_running),
        # resume and skip-task refusals: Baton answers 400 / 409 where Conductor answers 500 (architecture.md)
        (
            requests.put(f"{url}/skiptask/nope", json={}, timeout=HTTP_TIMEOUT_S),
            400,
            f"The task nope is not in the definition of {prefix}",
        ),
        (
            requests.put(f"{url}/skiptask/first", json={}, timeout=HTTP_TIMEOUT_S),
            409,
            "The task first has already been scheduled and cannot be skipped",
        ),
    ]

    for response, status, message in refusals:
        assert_error(response, status, message)
    assert get_workflow(api, workflow_id) == before


def test_terminating_a_completed_workflow_is_a_409_and_removing_an_unknown_one_a_404(api: str):
    prefix = two_steps(api)
    with RestWorkers(api, workers(prefix)):
        done = run(api, prefix, {})
    assert done["status"] == "COMPLETED"

    refused = requests.delete(
        f"{api}/workflow/{done['workflowId']}", params={"reason": "late"}, timeout=HTTP_TIMEOUT_S
    )

    assert_error(refused, 409, "Cannot terminate a COMPLETED workflow.")
    assert get_workflow(api, done["workflowId"]) == done
    unknown = unique("never-started-")
    assert_error(
        requests.delete(f"{api}/workflow/{unknown}/remove", timeout=HTTP_TIMEOUT_S),
        404,
        f"No such workflow found by id: {unknown}",
    )
