"""A workflow of three SIMPLE tasks over HTTP on a real local stack, with REST workers and with the
SQS-native SDK worker."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from batonflow.emulator.stack import BatonStack
from batonflow.sdk import BatonClient, Worker, WorkerSettings

pytestmark = pytest.mark.e2e
TIMEOUT_S = 30


def three_step_workflow(prefix: str) -> tuple[list[dict], dict]:
    task_defs = [
        {"name": f"{prefix}_{step}", "retryCount": 0, "responseTimeoutSeconds": 60} for step in "abc"
    ]
    workflow = {
        "name": f"{prefix}_flow",
        "version": 1,
        "tasks": [
            {
                "name": f"{prefix}_a",
                "taskReferenceName": "a",
                "inputParameters": {"n": "${workflow.input.n}"},
            },
            {"name": f"{prefix}_b", "taskReferenceName": "b", "inputParameters": {"n": "${a.output.n}"}},
            {"name": f"{prefix}_c", "taskReferenceName": "c", "inputParameters": {"n": "${b.output.n}"}},
        ],
        "outputParameters": {"result": "${c.output.n}", "label": "n=${c.output.n}"},
    }
    return task_defs, workflow


def register(api: str, task_defs: list[dict], workflow: dict) -> None:
    assert requests.post(f"{api}/metadata/taskdefs", json=task_defs, timeout=10).status_code == 200
    assert requests.put(f"{api}/metadata/workflow", json=[workflow], timeout=10).status_code == 200


def wait_for_terminal(api: str, workflow_id: str) -> dict:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        workflow = requests.get(f"{api}/workflow/{workflow_id}?includeTasks=true", timeout=10).json()
        if workflow["status"] != "RUNNING":
            return workflow
        time.sleep(0.1)
    raise AssertionError(f"workflow {workflow_id} still running after {TIMEOUT_S}s")


def assert_completed_in_order(workflow: dict, prefix: str) -> None:
    assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
    assert workflow["output"] == {"result": 4, "label": "n=4"}
    assert [t["referenceTaskName"] for t in workflow["tasks"]] == ["a", "b", "c"]
    assert [t["taskType"] for t in workflow["tasks"]] == [f"{prefix}_{s}" for s in "abc"]
    assert [t["inputData"] for t in workflow["tasks"]] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [t["outputData"] for t in workflow["tasks"]] == [{"n": 2}, {"n": 3}, {"n": 4}]
    assert all(t["status"] == "COMPLETED" for t in workflow["tasks"])


def test_rest_poll_and_update_workers(api: str):
    prefix = f"rest{uuid.uuid4().hex[:6]}"
    register(api, *three_step_workflow(prefix))
    response = requests.post(f"{api}/workflow/{prefix}_flow", json={"n": 1}, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    workflow_id = response.text

    done = 0
    deadline = time.monotonic() + TIMEOUT_S
    while done < 3 and time.monotonic() < deadline:
        for step in "abc":
            polled = requests.get(
                f"{api}/tasks/poll/batch/{prefix}_{step}",
                params={"count": 1, "timeout": 100, "workerid": "e2e"},
                timeout=10,
            ).json()
            for task in polled:
                result = {
                    "workflowInstanceId": task["workflowInstanceId"],
                    "taskId": task["taskId"],
                    "status": "COMPLETED",
                    "outputData": {"n": task["inputData"]["n"] + 1},
                    "workerId": "e2e",
                }
                assert requests.post(f"{api}/tasks", json=result, timeout=10).text == task["taskId"]
                done += 1
    assert_completed_in_order(wait_for_terminal(api, workflow_id), prefix)


def test_sqs_native_sdk_worker(stack: BatonStack, api: str):
    prefix = f"sqs{uuid.uuid4().hex[:6]}"
    register(api, *three_step_workflow(prefix))
    settings = WorkerSettings.from_env(stack.worker_environment(), worker_id="sdk-e2e")
    calls: list[int] = []
    lock = threading.Lock()

    def plus_one(n: int) -> dict:
        with lock:
            calls.append(n)
        return {"n": n + 1}

    workers = [Worker(f"{prefix}_{step}", plus_one, wait_seconds=1) for step in "abc"]
    for worker in workers:
        worker.start(settings)
    try:
        client = BatonClient(stack.api_url)
        workflow_id = client.start_workflow(f"{prefix}_flow", {"n": 1})
        workflow = client.wait_for_workflow(workflow_id, timeout_s=TIMEOUT_S)
    finally:
        for worker in workers:
            worker.stop(grace_seconds=5)
    assert_completed_in_order(workflow, prefix)
    assert sorted(calls) == [1, 2, 3]
    assert {t["workerId"] for t in workflow["tasks"]} == {"sdk-e2e"}


def test_errors_over_http_are_conductor_json(api: str):
    response = requests.post(
        f"{api}/metadata/workflow", data="{oops", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"status", "message", "retryable"}
    response = requests.get(f"{api}/workflow/{uuid.uuid4()}", timeout=10)
    assert response.status_code == 404 and response.json()["message"].startswith(
        "No such workflow found by id"
    )
    assert requests.get(f"{api}/nothing/here", timeout=10).status_code == 404


def test_a_rest_worker_that_dies_is_timed_out_by_the_real_timer_path(api: str):
    """Poll a task and never answer: the response-timeout timer (timer queue -> TimerFunction -> decider)
    times the attempt out and schedules the next one."""
    prefix = f"dies{uuid.uuid4().hex[:6]}"
    task_def = {"name": f"{prefix}_t", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 1}
    workflow = {"name": f"{prefix}_flow", "tasks": [{"name": f"{prefix}_t", "taskReferenceName": "t"}]}
    register(api, [task_def], workflow)
    workflow_id = requests.post(f"{api}/workflow/{prefix}_flow", json={}, timeout=10).text

    deadline = time.monotonic() + TIMEOUT_S
    polled: list[dict] = []
    while not polled and time.monotonic() < deadline:
        polled = requests.get(f"{api}/tasks/poll/batch/{prefix}_t?count=1&timeout=100", timeout=10).json()
    assert polled, "the task was never handed out"

    while time.monotonic() < deadline:
        tasks = requests.get(f"{api}/workflow/{workflow_id}", timeout=10).json()["tasks"]
        if len(tasks) == 2:
            break
        time.sleep(0.2)
    assert [(t["status"], t["retryCount"]) for t in tasks] == [("TIMED_OUT", 0), ("SCHEDULED", 1)], tasks
    assert tasks[0]["taskId"] == polled[0]["taskId"]


def test_sqs_native_sdk_worker_with_payloads_over_the_threshold(stack: BatonStack, api: str):
    """Through ``baton up``'s environment (``BATON_BUCKET``, ``BATON_PAYLOAD_THRESHOLD``), the SDK reads
    a large input from the payload bucket and uploads a large output to it."""
    prefix = f"big{uuid.uuid4().hex[:6]}"
    task_def = {"name": f"{prefix}_echo", "retryCount": 0, "responseTimeoutSeconds": 60}
    workflow_def = {
        "name": f"{prefix}_flow",
        "version": 1,
        "tasks": [
            {
                "name": f"{prefix}_echo",
                "taskReferenceName": "echo",
                "inputParameters": {"blob": "${workflow.input.blob}"},
            }
        ],
        "outputParameters": {"echo": "${echo.output.echo}"},
    }
    register(api, [task_def], workflow_def)
    settings = WorkerSettings.from_env(stack.worker_environment(), worker_id="sdk-e2e-big")
    assert settings.bucket
    blob = "0123456789" * 20_000
    worker = Worker(f"{prefix}_echo", lambda blob: {"echo": blob[::-1]}, wait_seconds=1)
    worker.start(settings)
    try:
        client = BatonClient(stack.api_url)
        workflow_id = client.start_workflow(f"{prefix}_flow", {"blob": blob})
        workflow = client.wait_for_workflow(workflow_id, timeout_s=TIMEOUT_S)
    finally:
        worker.stop(grace_seconds=5)
    assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
    assert workflow["output"] == {"echo": blob[::-1]}
    assert workflow["tasks"][0]["inputData"] == {"blob": blob}
