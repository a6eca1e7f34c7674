"""A workflow of SIMPLE tasks through the real handlers on moto: REST workers, SQS-native results,
retries, timeouts and duplicate deliveries."""

from __future__ import annotations

import json

from batonflow.model.wire import ResultMessage
from tests.support.stack import Harness

TASK_DEFS = [
    {"name": "fetch", "retryCount": 2, "retryDelaySeconds": 0, "responseTimeoutSeconds": 30},
    {"name": "enrich", "retryCount": 0, "responseTimeoutSeconds": 30},
    {"name": "store", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 5},
]
WORKFLOW = {
    "name": "three_steps",
    "version": 1,
    "tasks": [
        {
            "name": "fetch",
            "taskReferenceName": "fetch_ref",
            "inputParameters": {"user": "${workflow.input.user}"},
        },
        {
            "name": "enrich",
            "taskReferenceName": "enrich_ref",
            "inputParameters": {"p": "${fetch_ref.output.profile}"},
        },
        {
            "name": "store",
            "taskReferenceName": "store_ref",
            "inputParameters": {"score": "${enrich_ref.output.score}"},
        },
    ],
    "outputParameters": {"id": "${store_ref.output.id}"},
}


def register(harness: Harness) -> None:
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    assert harness.api("POST", "/api/metadata/workflow", WORKFLOW).status == 200


def start(harness: Harness, workflow_input: dict | None = None) -> str:
    response = harness.api("POST", "/api/workflow/three_steps", workflow_input or {"user": "ada"})
    assert response.status == 200, response.text
    assert response.header("content-type").startswith("text/plain")
    harness.pump()
    return response.text


def poll_one(harness: Harness, task_type: str) -> dict:
    response = harness.api("GET", f"/api/tasks/poll/batch/{task_type}?count=1&timeout=100&workerid=w1")
    assert response.status == 200
    tasks = response.json()
    assert len(tasks) == 1, tasks
    return tasks[0]


def report(
    harness: Harness, task: dict, status: str = "COMPLETED", output: dict | None = None, **extra
) -> None:
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": status,
        "outputData": output or {},
        "workerId": "w1",
        **extra,
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()


def workflow(harness: Harness, workflow_id: str) -> dict:
    response = harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=true")
    assert response.status == 200
    return response.json()


def test_rest_workers_complete_three_tasks_and_the_workflow_reads_back_in_conductor_shape(harness: Harness):
    register(harness)
    workflow_id = start(harness)

    fetch = poll_one(harness, "fetch")
    assert (
        fetch["status"] == "IN_PROGRESS"
        and fetch["inputData"] == {"user": "ada"}
        and fetch["workerId"] == "w1"
    )
    report(harness, fetch, output={"profile": {"name": "Ada"}})
    enrich = poll_one(harness, "enrich")
    assert enrich["inputData"] == {"p": {"name": "Ada"}}
    report(harness, enrich, output={"score": 9})
    store = poll_one(harness, "store")
    assert store["inputData"] == {"score": 9}
    report(harness, store, output={"id": "row-1"})

    result = workflow(harness, workflow_id)
    assert result["status"] == "COMPLETED"
    assert result["output"] == {"id": "row-1"}
    assert result["workflowName"] == "three_steps" and result["workflowVersion"] == 1
    assert [t["referenceTaskName"] for t in result["tasks"]] == ["fetch_ref", "enrich_ref", "store_ref"]
    assert [t["seq"] for t in result["tasks"]] == [1, 2, 3]
    assert all(t["status"] == "COMPLETED" for t in result["tasks"])
    assert all(
        isinstance(t[k], int) and t[k] > 0
        for t in result["tasks"]
        for k in ("scheduledTime", "startTime", "endTime")
    )
    assert result["endTime"] >= result["createTime"] > 0
    assert result["workflowDefinition"]["tasks"][0]["taskDefinition"]["retryCount"] == 2


def test_sqs_native_results_drive_the_workflow_and_duplicates_change_nothing(harness: Harness):
    register(harness)
    workflow_id = start(harness)
    results_url = harness.queue_url("ResultsQueue")
    for task_type, output in (("fetch", {"profile": 1}), ("enrich", {"score": 2}), ("store", {"id": "x"})):
        [message] = harness.receive_all(harness.runtime.queues.task_queue_url(task_type))
        task = json.loads(message["Body"])
        assert task["taskType"] == task_type
        result = ResultMessage(
            workflowInstanceId=task["workflowInstanceId"],
            taskId=task["taskId"],
            status="COMPLETED",
            outputData=output,
            workerId="sqs-worker",
            startTime=harness.clock.now,
        )
        for _ in range(2):  # the same result delivered twice
            harness.runtime.sqs.send_message(QueueUrl=results_url, MessageBody=result.to_json())
        harness.pump()

    result = workflow(harness, workflow_id)
    assert result["status"] == "COMPLETED"
    assert result["output"] == {"id": "x"}
    assert len(result["tasks"]) == 3
    assert {t["workerId"] for t in result["tasks"]} == {"sqs-worker"}


def test_a_start_schedules_its_first_task_itself_and_wake_ups_after_it_schedule_nothing_again(
    harness: Harness,
):
    register(harness)
    workflow_id = harness.api("POST", "/api/workflow/three_steps", {"user": "x"}).text
    started = workflow(harness, workflow_id)
    assert harness.receive_all(harness.queue_url("DeciderQueue")) == []
    for reason in ("start", "task"):  # a client's repeated start, a duplicate wake-up
        harness.runtime.queues.wake_workflows([workflow_id], reason)
    harness.pump()

    assert [t["referenceTaskName"] for t in started["tasks"]] == ["fetch_ref"]
    assert len(workflow(harness, workflow_id)["tasks"]) == 1
    assert len(harness.receive_all(harness.runtime.queues.task_queue_url("fetch"))) == 1


def test_a_task_failing_twice_completes_on_its_third_attempt(harness: Harness):
    register(harness)
    workflow_id = start(harness)
    for attempt in range(2):
        report(harness, poll_one(harness, "fetch"), "FAILED", reasonForIncompletion=f"flaky {attempt}")
    report(harness, poll_one(harness, "fetch"), output={"profile": "p"})

    tasks = workflow(harness, workflow_id)["tasks"]
    fetches = [t for t in tasks if t["referenceTaskName"] == "fetch_ref"]
    assert [t["retryCount"] for t in fetches] == [0, 1, 2]
    assert [t["status"] for t in fetches] == ["FAILED", "FAILED", "COMPLETED"]
    assert tasks[-1]["referenceTaskName"] == "enrich_ref"


def test_retries_exhausted_fail_the_workflow_with_a_reason_naming_the_task(harness: Harness):
    register(harness)
    workflow_id = start(harness)
    report(harness, poll_one(harness, "fetch"), output={"profile": "p"})
    report(harness, poll_one(harness, "enrich"), "FAILED", reasonForIncompletion="enrichment service down")

    result = workflow(harness, workflow_id)
    failed = result["tasks"][-1]
    assert result["status"] == "FAILED"
    assert result["reasonForIncompletion"] == (
        f"Task {failed['taskId']} failed with status: FAILED and reason: 'enrichment service down'"
    )
    assert result["failedReferenceTaskNames"] == ["enrich_ref"]


def test_a_worker_that_dies_times_out_after_response_timeout_and_a_new_attempt_is_scheduled(harness: Harness):
    register(harness)
    workflow_id = start(harness)
    report(harness, poll_one(harness, "fetch"), output={"profile": "p"})
    report(harness, poll_one(harness, "enrich"), output={"score": 1})
    dead = poll_one(harness, "store")  # the worker takes it and is never heard of again

    harness.clock.advance(5)
    harness.runtime.queues.wake_workflows([workflow_id], "timer")  # what the response-timeout timer does
    harness.pump()

    stores = [t for t in workflow(harness, workflow_id)["tasks"] if t["referenceTaskName"] == "store_ref"]
    assert [t["status"] for t in stores] == ["TIMED_OUT", "SCHEDULED"]
    assert stores[0]["taskId"] == dead["taskId"]
    assert stores[0]["reasonForIncompletion"].startswith("responseTimeout: 5 exceeded")
    assert stores[1]["retryCount"] == 1

    report(harness, dead, output={"id": "late"})  # a late result for the dead attempt changes nothing
    stores = [t for t in workflow(harness, workflow_id)["tasks"] if t["referenceTaskName"] == "store_ref"]
    assert [t["status"] for t in stores] == ["TIMED_OUT", "SCHEDULED"]


def test_the_sweeper_repairs_a_lost_timer(harness: Harness):
    from batonflow.service.timers import sweep

    register(harness)
    workflow_id = start(harness)
    report(harness, poll_one(harness, "fetch"), output={"profile": "p"})
    report(harness, poll_one(harness, "enrich"), output={"score": 1})
    poll_one(harness, "store")
    harness.receive_all(harness.queue_url("TimerQueue"))  # the response-timeout timer is lost

    harness.clock.advance(5 + 61)
    assert sweep(harness.runtime) == 1
    harness.pump()
    stores = [t for t in workflow(harness, workflow_id)["tasks"] if t["referenceTaskName"] == "store_ref"]
    assert [t["status"] for t in stores] == ["TIMED_OUT", "SCHEDULED"]


def test_an_sqs_native_lease_expiry_times_the_attempt_out_and_retries_it(harness: Harness):
    register(harness)
    workflow_id = start(harness)
    [message] = harness.receive_all(harness.runtime.queues.task_queue_url("fetch"))
    task = json.loads(message["Body"])
    expired = ResultMessage(
        workflowInstanceId=workflow_id,
        taskId=task["taskId"],
        status="TIMED_OUT",
        reasonForIncompletion="lease expired: the worker holding this task stopped responding",
    )
    harness.runtime.sqs.send_message(
        QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=expired.to_json()
    )
    harness.pump()

    fetches = workflow(harness, workflow_id)["tasks"]
    assert [(t["status"], t["retryCount"]) for t in fetches] == [("TIMED_OUT", 0), ("SCHEDULED", 1)]
    assert fetches[0]["reasonForIncompletion"].startswith("lease expired")
    [retry] = harness.receive_all(harness.runtime.queues.task_queue_url("fetch"))
    assert json.loads(retry["Body"])["retryCount"] == 1


def test_rest_workers_cannot_report_timed_out(harness: Harness):
    register(harness)
    start(harness)
    task = poll_one(harness, "fetch")
    body = {"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": "TIMED_OUT"}
    assert harness.api("POST", "/api/tasks", body).status == 400
