"""Found by ``baton chaos`` (N=1000, default faults): a task that was not first in its FORK_JOIN branch and
failed was not retried although its definition allowed it; the JOIN failed instead, and the workflow with
it. The JOIN is scheduled before a branch's later tasks, and a pass advanced attempts in scheduling order,
so the JOIN looked before the failed attempt's retry existed. Now a pass handles finished attempts first.
Seen with TIMED_OUT reported for a worker that lost its lease (``batonflow.sdk.runner``: the next worker
reports the redelivered message instead of running it); a plain FAILED result did the same."""

from __future__ import annotations

import json

from batonflow.sdk.execution import LEASE_EXPIRED_REASON
from tests.support.stack import Harness

STEP = {"name": "step", "retryCount": 3, "retryLogic": "FIXED", "retryDelaySeconds": 0}
FORKED = {
    "name": "forked",
    "version": 1,
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [
                [{"name": "step", "taskReferenceName": "left"}],
                [
                    {"name": "step", "taskReferenceName": "right1"},
                    {"name": "step", "taskReferenceName": "right2"},
                ],
            ],
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "right2"]},
    ],
}


def take(harness: Harness) -> dict[str, dict]:
    queue = harness.runtime.queues.task_queue_url("step")
    messages = harness.runtime.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    return {json.loads(m["Body"])["referenceTaskName"]: json.loads(m["Body"]) for m in messages}


def report(harness: Harness, task: dict, status: str, reason: str | None = None) -> None:
    result = {"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": status}
    if reason:
        result["reasonForIncompletion"] = reason
    harness.runtime.sqs.send_message(
        QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=json.dumps(result)
    )
    harness.pump()


def test_a_later_branch_task_whose_worker_lost_its_lease_is_retried(harness: Harness):
    assert harness.api("POST", "/api/metadata/taskdefs", [STEP]).status == 200
    assert harness.api("PUT", "/api/metadata/workflow", [FORKED]).status == 200
    workflow_id = harness.api("POST", "/api/workflow/forked", {}).text
    harness.pump()
    first = take(harness)
    report(harness, first["left"], "COMPLETED")
    report(harness, first["right1"], "COMPLETED")
    report(harness, take(harness)["right2"], "TIMED_OUT", LEASE_EXPIRED_REASON)

    workflow = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    attempts = [(t["referenceTaskName"], t["retryCount"], t["status"]) for t in workflow["tasks"]]
    assert workflow["status"] == "RUNNING", (workflow.get("reasonForIncompletion"), attempts)
    assert ("right2", 1, "SCHEDULED") in attempts
