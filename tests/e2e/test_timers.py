"""Delays and timeouts on ``baton up`` with real second-long durations (REFERENCE §3.3 to §3.5): each goes
through the timer queue (the stack's sweeper runs every 2 s), and the assertions read the times the server
recorded on the task attempts."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.helpers import (
    HTTP_TIMEOUT_S,
    RestWorkers,
    get_workflow,
    poll_once,
    poll_task,
    register,
    run,
    start,
    task,
    unique,
    update_task,
    wait_for_terminal,
)

pytestmark = pytest.mark.e2e


def one_task(api: str, prefix: str, task_def: dict[str, Any], **workflow: Any) -> str:
    """Register a workflow ``prefix`` of one worker task ``step`` of type ``<prefix>_t``; the task type."""
    task_type = f"{prefix}_t"
    register(
        api,
        {"name": prefix, "tasks": [task("step", name=task_type)], **workflow},
        task_defs=[{"name": task_type, "retryCount": 0, **task_def}],
    )
    return task_type


def hold(api: str, polled: dict[str, Any], seconds: float) -> None:
    """Keep a polled task IN_PROGRESS for ``seconds`` with lease extensions (conductor-python's heartbeat)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        update_task(api, polled, "IN_PROGRESS", extendLease=True)
        time.sleep(0.25)


# -- delays -----------------------------------------------------------------------------------------------
def test_a_retry_is_handed_out_only_after_its_retry_delay(api: str):
    prefix = unique("retrydelay")
    task_type = one_task(api, prefix, {"retryCount": 1, "retryDelaySeconds": 1, "responseTimeoutSeconds": 10})
    calls: list[str] = []

    def flaky(polled: dict) -> dict:
        calls.append(polled["taskId"])
        if len(calls) == 1:
            raise RuntimeError("try again later")
        return {"attempt": len(calls)}

    with RestWorkers(api, {task_type: flaky}):
        done = run(api, prefix, {})

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    failed, retry = done["tasks"]
    assert (failed["status"], failed["retryCount"], failed["retried"]) == ("FAILED", 0, True)
    assert (retry["status"], retry["retryCount"], retry["retriedTaskId"]) == (
        "COMPLETED",
        1,
        failed["taskId"],
    )
    assert retry["startDelayInSeconds"] == 1
    assert retry["scheduledTime"] >= failed["endTime"]
    assert retry["startTime"] - retry["scheduledTime"] >= 1000, (retry["scheduledTime"], retry["startTime"])
    assert retry["startTime"] - failed["endTime"] >= 1000
    assert calls == [failed["taskId"], retry["taskId"]]


def test_an_in_progress_answer_with_a_callback_hands_the_task_out_again_after_it(api: str):
    prefix = unique("callback")
    task_type = one_task(api, prefix, {"responseTimeoutSeconds": 10})
    workflow_id = start(api, prefix, {})

    first = poll_task(api, task_type)
    update_task(api, first, "IN_PROGRESS", callbackAfterSeconds=1, outputData={"step": 1})
    waiting = get_workflow(api, workflow_id)["tasks"][0]
    assert (waiting["taskId"], waiting["status"], waiting["callbackAfterSeconds"]) == (
        first["taskId"],
        "SCHEDULED",
        1,
    )
    assert poll_once(api, task_type) == []  # not before the callback

    again = poll_task(api, task_type, within_s=5)
    assert (again["taskId"], again["pollCount"], again["outputData"]) == (first["taskId"], 2, {"step": 1})
    assert again["updateTime"] - waiting["updateTime"] >= 1000, (waiting["updateTime"], again["updateTime"])
    update_task(api, again, "COMPLETED", outputData={"step": 2})
    done = wait_for_terminal(api, workflow_id)

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    [finished] = done["tasks"]
    assert (finished["status"], finished["outputData"], finished["pollCount"]) == (
        "COMPLETED",
        {"step": 2},
        2,
    )
    assert finished["startTime"] == first["startTime"]  # the first poll's, kept
    assert finished["endTime"] - waiting["updateTime"] >= 1000


# -- task timeouts ----------------------------------------------------------------------------------------
def timed_task_def(policy: str, **fields: Any) -> dict[str, Any]:
    """A task that times out 1 s after its poll; ``responseTimeoutSeconds`` may not exceed ``timeoutSeconds``
    (Conductor's validation), so both are 1 and the task timeout, checked first, is the one that fires."""
    return {"timeoutSeconds": 1, "responseTimeoutSeconds": 1, "timeoutPolicy": policy, **fields}


def test_a_response_timeout_longer_than_the_task_timeout_is_refused(api: str):
    name = unique("badtimeouts")
    response = requests.post(
        f"{api}/metadata/taskdefs",
        json=[{"name": name, "timeoutSeconds": 1, "responseTimeoutSeconds": 2}],
        timeout=HTTP_TIMEOUT_S,
    )

    assert response.status_code == 400, response.text
    assert [e["message"] for e in response.json()["validationErrors"]] == [
        f"TaskDef: {name} responseTimeoutSeconds: 2 must be less than timeoutSeconds: 1"
    ]
    assert requests.get(f"{api}/metadata/taskdefs/{name}", timeout=HTTP_TIMEOUT_S).status_code == 404


def test_a_task_timeout_with_retry_times_the_silent_attempt_out_and_schedules_another(api: str):
    prefix = unique("timeoutretry")
    task_type = one_task(api, prefix, timed_task_def("RETRY", retryCount=1, retryDelaySeconds=0))
    workflow_id = start(api, prefix, {})

    silent = poll_task(api, task_type)  # taken, never answered
    second = poll_task(api, task_type, within_s=8)
    update_task(api, second, "COMPLETED", outputData={"ok": True})
    done = wait_for_terminal(api, workflow_id)

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    timed_out, retry = done["tasks"]
    assert (timed_out["taskId"], timed_out["status"], timed_out["retried"]) == (
        silent["taskId"],
        "TIMED_OUT",
        True,
    )
    assert timed_out["reasonForIncompletion"].startswith("Task timed out after ")
    assert timed_out["reasonForIncompletion"].endswith(
        "Timeout configured as 1 seconds. Timeout policy configured to RETRY"
    )
    assert timed_out["endTime"] - timed_out["startTime"] >= 1000
    assert (retry["taskId"], retry["retryCount"], retry["retriedTaskId"]) == (
        second["taskId"],
        1,
        silent["taskId"],
    )
    assert retry["status"] == "COMPLETED"


def test_a_task_timeout_with_time_out_wf_times_the_workflow_out_without_a_retry(api: str):
    prefix = unique("timeoutwf")
    task_type = one_task(api, prefix, timed_task_def("TIME_OUT_WF", retryCount=2, retryDelaySeconds=0))
    workflow_id = start(api, prefix, {})

    silent = poll_task(api, task_type)
    done = wait_for_terminal(api, workflow_id, timeout_s=8)

    assert done["status"] == "TIMED_OUT"
    [timed_out] = done["tasks"]
    assert (timed_out["taskId"], timed_out["status"]) == (silent["taskId"], "TIMED_OUT")
    assert timed_out["reasonForIncompletion"].endswith(
        "Timeout configured as 1 seconds. Timeout policy configured to TIME_OUT_WF"
    )
    assert done["reasonForIncompletion"] == timed_out["reasonForIncompletion"]
    assert timed_out["endTime"] - timed_out["startTime"] >= 1000
    assert poll_once(api, task_type) == []


def test_a_task_timeout_with_alert_only_lets_the_task_run_past_it_and_complete(api: str):
    prefix = unique("timeoutalert")
    task_type = one_task(api, prefix, timed_task_def("ALERT_ONLY", retryCount=1, retryDelaySeconds=0))
    workflow_id = start(api, prefix, {})

    polled = poll_task(api, task_type)
    hold(api, polled, 2.5)  # more than twice the task timeout, with a live lease
    assert get_workflow(api, workflow_id)["tasks"][0]["status"] == "IN_PROGRESS"
    update_task(api, polled, "COMPLETED", outputData={"late": True})
    done = wait_for_terminal(api, workflow_id)

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    [finished] = done["tasks"]
    assert (finished["taskId"], finished["status"], finished["outputData"]) == (
        polled["taskId"],
        "COMPLETED",
        {"late": True},
    )
    assert finished["endTime"] - finished["startTime"] >= 2500


def test_a_task_nobody_polls_times_out_after_its_poll_timeout(api: str):
    prefix = unique("polltimeout")
    task_type = one_task(api, prefix, {"pollTimeoutSeconds": 1, "responseTimeoutSeconds": 10})
    workflow_id = start(api, prefix, {})

    done = wait_for_terminal(api, workflow_id, timeout_s=8)

    assert done["status"] == "TIMED_OUT"
    [timed_out] = done["tasks"]
    assert (timed_out["status"], timed_out["pollCount"], timed_out["startTime"]) == ("TIMED_OUT", 0, 0)
    assert timed_out["reasonForIncompletion"].startswith("Task poll timed out after ")
    assert timed_out["reasonForIncompletion"].endswith(
        "Poll timeout configured as 1 seconds. Timeout policy configured to TIME_OUT_WF"
    )
    assert done["reasonForIncompletion"] == timed_out["reasonForIncompletion"]
    assert timed_out["endTime"] - timed_out["scheduledTime"] >= 1000
    assert poll_once(api, task_type) == []


# -- workflow timeouts ------------------------------------------------------------------------------------
def test_a_workflow_timeout_with_time_out_wf_times_the_workflow_out_and_cancels_its_task(api: str):
    prefix = unique("wftimeout")
    task_type = one_task(
        api, prefix, {"responseTimeoutSeconds": 10}, timeoutSeconds=1, timeoutPolicy="TIME_OUT_WF"
    )
    workflow_id = start(api, prefix, {})

    done = wait_for_terminal(api, workflow_id, timeout_s=8)

    assert done["status"] == "TIMED_OUT"
    assert done["reasonForIncompletion"].startswith("Workflow timed out after ")
    assert done["reasonForIncompletion"].endswith(
        "Timeout configured as 1 seconds. Timeout policy configured to TIME_OUT_WF"
    )
    assert done["endTime"] - done["createTime"] >= 1000
    assert [(t["referenceTaskName"], t["status"]) for t in done["tasks"]] == [("step", "CANCELED")]
    assert poll_once(api, task_type) == []


def test_a_workflow_timeout_with_alert_only_keeps_it_running_until_its_task_completes(api: str):
    prefix = unique("wfalert")
    task_type = one_task(
        api, prefix, {"responseTimeoutSeconds": 10}, timeoutSeconds=1, timeoutPolicy="ALERT_ONLY"
    )
    workflow_id = start(api, prefix, {})

    polled = poll_task(api, task_type)
    hold(api, polled, 2)  # the worker takes twice the workflow's timeout
    assert get_workflow(api, workflow_id)["status"] == "RUNNING"
    update_task(api, polled, "COMPLETED", outputData={"done": 1})
    done = wait_for_terminal(api, workflow_id)

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    assert done["output"] == {"done": 1}
    assert done["endTime"] - done["createTime"] >= 2000
