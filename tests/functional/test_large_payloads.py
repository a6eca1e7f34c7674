"""Large payloads (issue 7): over ``PayloadThresholdBytes`` an input, output or variables map lives in the
payload bucket and items and messages carry a reference; workers and the REST API see the full JSON.

Every flow checks what must stay small: no DynamoDB item and no SQS message grows with the payload.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from batonflow.model.wire import DeciderReason, ResultMessage
from batonflow.sdk import Worker, WorkerRunner, WorkerSettings
from batonflow.store.payloads import MARKER, MAX_PAYLOAD_BYTES, Payloads, is_reference
from tests.functional.test_item_sizes import item_size, partition
from tests.support.stack import Harness

MB = 1024 * 1024
BIG = "0123456789abcdef" * (5 * MB // 16)
"""5 MB of text: a 5 MB task output."""
ITEM_LIMIT = 4096
"""What a task or header item stays under with its payloads offloaded (DynamoDB's limit is 400 KB)."""
SQS_LIMIT = 256 * 1024
TASK_DEFS = [{"name": name, "retryCount": 0} for name in ("big_make", "big_take")]
FLOW = {
    "name": "big_flow",
    "version": 1,
    "tasks": [
        {"name": "big_make", "taskReferenceName": "make"},
        {"name": "big_take", "taskReferenceName": "take", "inputParameters": {"data": "${make.output.data}"}},
    ],
    "outputParameters": {"data": "${make.output.data}", "length": "${take.output.length}"},
}


class Sent:
    """The size of every SQS message body the stack and its workers send."""

    def __init__(self, harness: Harness) -> None:
        self.sizes: list[int] = []
        events = harness.runtime.sqs.meta.events
        events.register("before-parameter-build.sqs.SendMessage", self._one)
        events.register("before-parameter-build.sqs.SendMessageBatch", self._batch)

    def _one(self, params: dict[str, Any], **_: Any) -> None:
        self.sizes.append(len(params["MessageBody"].encode()))

    def _batch(self, params: dict[str, Any], **_: Any) -> None:
        self.sizes.extend(len(entry["MessageBody"].encode()) for entry in params["Entries"])


@pytest.fixture
def sent(harness: Harness) -> Sent:
    return Sent(harness)


def objects(harness: Harness, workflow_id: str = "") -> list[str]:
    s3 = harness.runtime.payloads.client
    listing = s3.list_objects_v2(Bucket=harness.runtime.settings.bucket, Prefix=f"payloads/{workflow_id}")
    return [entry["Key"] for entry in listing.get("Contents", [])]


def start(harness: Harness, workflow_input: dict[str, Any] | None = None) -> str:
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", FLOW).status == 200
    response = harness.api("POST", "/api/workflow/big_flow", workflow_input or {})
    assert response.status == 200, response.text
    harness.pump()
    return response.text


def execution(harness: Harness, workflow_id: str) -> dict[str, Any]:
    response = harness.api("GET", f"/api/workflow/{workflow_id}")
    assert response.status == 200, response.text
    return response.json()


def assert_items_stay_small(harness: Harness, workflow_id: str) -> None:
    sizes = {key: item_size(item) for key, item in partition(harness, workflow_id).items()}
    assert sizes and max(sizes.values()) < ITEM_LIMIT, sizes


def run_sdk(harness: Harness, task_type: str, fn: Any, *, bucket: bool = True) -> None:
    """Run ``fn`` as the SQS-native worker of ``task_type`` for one task: a real runner (its own payload
    cache), stopped once it has sent a result, which waits for the send; then the stack applies it."""
    reported = threading.Event()
    results_url = harness.queue_url("ResultsQueue")

    def on_send(params: dict[str, Any], **_: Any) -> None:
        if params["QueueUrl"] == results_url:
            reported.set()

    settings = WorkerSettings(
        harness.runtime.settings.queue_prefix,
        results_queue_url=results_url,
        region="us-east-1",
        bucket=harness.runtime.settings.bucket if bucket else None,
    )
    events = harness.runtime.sqs.meta.events
    events.register("before-parameter-build.sqs.SendMessageBatch", on_send)
    runner = WorkerRunner(
        [Worker(task_type, fn, wait_seconds=1)], settings=settings, sqs_client=harness.runtime.sqs
    )
    runner.start()
    try:
        assert reported.wait(30), f"no result for a {task_type} task"
    finally:
        runner.stop(grace_seconds=30)
        events.unregister("before-parameter-build.sqs.SendMessageBatch", on_send)
    harness.pump()


def test_a_5mb_output_of_an_sqs_native_worker_reaches_the_next_task_and_the_workflow_output(
    harness: Harness, sent: Sent
):
    workflow_id = start(harness)
    received: dict[str, Any] = {}

    def take(data: str) -> dict[str, Any]:
        received["data"] = data
        return {"length": len(data)}

    run_sdk(harness, "big_make", lambda: {"data": BIG})
    run_sdk(harness, "big_take", take)

    workflow = execution(harness, workflow_id)
    assert workflow["status"] == "COMPLETED"
    assert received["data"] == BIG
    assert workflow["output"] == {"data": BIG, "length": len(BIG)}
    make, take_task = workflow["tasks"]
    assert make["outputData"] == {"data": BIG}
    assert take_task["inputData"] == {"data": BIG}
    assert_items_stay_small(harness, workflow_id)
    assert max(sent.sizes) < 2048
    # the output and the next input are the same JSON: one object; the workflow output is another
    assert len(objects(harness, workflow_id)) == 2


def test_a_5mb_output_through_the_rest_api_reaches_the_next_task_and_the_workflow_output(
    harness: Harness, sent: Sent
):
    workflow_id = start(harness)
    (make,) = harness.api("GET", "/api/tasks/poll/batch/big_make?count=1&timeout=100&workerid=w1").json()
    update = {"workflowInstanceId": workflow_id, "taskId": make["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", {**update, "outputData": {"data": BIG}}).status == 200
    harness.pump()
    (take,) = harness.api("GET", "/api/tasks/poll/batch/big_take?count=1&timeout=100&workerid=w1").json()
    assert take["inputData"] == {"data": BIG}
    update = {"workflowInstanceId": workflow_id, "taskId": take["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", {**update, "outputData": {"length": 7}}).status == 200
    harness.pump()

    workflow = execution(harness, workflow_id)
    assert workflow["status"] == "COMPLETED"
    assert workflow["output"] == {"data": BIG, "length": 7}
    assert harness.api("GET", f"/api/tasks/{make['taskId']}").json()["outputData"] == {"data": BIG}
    assert_items_stay_small(harness, workflow_id)
    assert max(sent.sizes) < 2048


def test_a_large_workflow_input_is_stored_once_and_read_back_whole(harness: Harness):
    workflow_input = {"blob": "y" * 100_000}
    workflow_id = start(harness, workflow_input)

    assert execution(harness, workflow_id)["input"] == workflow_input
    assert_items_stay_small(harness, workflow_id)
    assert len(objects(harness, workflow_id)) == 1


def test_an_11mb_start_is_a_413_and_stores_nothing(harness: Harness):
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", FLOW).status == 200
    response = harness.api("POST", "/api/workflow/big_flow", {"data": "z" * (11 * MB)})

    assert response.status == 413
    body = response.json()
    assert body["status"] == 413 and str(MAX_PAYLOAD_BYTES) in body["message"]
    assert body["retryable"] is False
    assert objects(harness) == []
    table = harness.runtime.executions._client.scan(TableName=harness.runtime.settings.table)
    assert [item["PK"]["S"] for item in table["Items"] if item["PK"]["S"].startswith("WF#")] == []


def test_an_11mb_output_through_the_rest_api_fails_the_task_terminally(harness: Harness):
    workflow_id = start(harness)
    (make,) = harness.api("GET", "/api/tasks/poll/batch/big_make?count=1&timeout=100&workerid=w1").json()
    update = {"workflowInstanceId": workflow_id, "taskId": make["taskId"], "status": "COMPLETED"}
    assert (
        harness.api("POST", "/api/tasks", {**update, "outputData": {"data": "z" * (11 * MB)}}).status == 200
    )
    harness.pump()

    workflow = execution(harness, workflow_id)
    (task,) = workflow["tasks"]
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "over the 10485760-byte limit" in task["reasonForIncompletion"]
    assert task["outputData"] == {}
    assert workflow["status"] == "FAILED"
    assert objects(harness, workflow_id) == []


def test_an_11mb_output_of_an_sqs_native_worker_fails_the_task_terminally(harness: Harness, sent: Sent):
    workflow_id = start(harness)
    run_sdk(harness, "big_make", lambda: {"data": "z" * (11 * MB)})

    (task,) = execution(harness, workflow_id)["tasks"]
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "over the 10485760-byte limit" in task["reasonForIncompletion"]
    assert objects(harness, workflow_id) == []
    assert max(sent.sizes) < 2048


def test_a_reference_to_another_workflows_payload_fails_the_task(harness: Harness):
    workflow_id = start(harness)
    (message,) = harness.receive_all(harness.runtime.queues.task_queue_url("big_make"))
    task = json.loads(message["Body"])
    stolen = {MARKER: {"key": "payloads/someone-else/0.json.gz", "size": 10}}
    result = ResultMessage(
        workflowInstanceId=workflow_id, taskId=task["taskId"], status="COMPLETED", outputData=stolen
    )
    harness.runtime.sqs.send_message(QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json())
    harness.pump()

    (stored,) = execution(harness, workflow_id)["tasks"]
    assert stored["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "is not a payload of workflow" in stored["reasonForIncompletion"]


def test_a_result_with_an_offloaded_output_delivered_twice_is_stored_once_and_completes_once(
    harness: Harness,
):
    workflow_id = start(harness)
    (message,) = harness.receive_all(harness.runtime.queues.task_queue_url("big_make"))
    task = json.loads(message["Body"])
    bucket = harness.runtime.settings.bucket
    # two workers (each its own cache) uploading the same output: the same key, one object
    first, second = (Payloads(lambda: harness.runtime.payloads.client, bucket) for _ in range(2))
    reference = first.offload({"data": BIG}, workflow_id)
    assert second.offload({"data": BIG}, workflow_id) == reference
    assert is_reference(reference) and objects(harness, workflow_id) == [reference[MARKER]["key"]]
    result = ResultMessage(
        workflowInstanceId=workflow_id,
        taskId=task["taskId"],
        status="COMPLETED",
        outputData=reference,
        startTime=1,
    )
    for _ in range(2):
        harness.runtime.sqs.send_message(
            QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json()
        )
    harness.pump()

    workflow = execution(harness, workflow_id)
    assert [(t["referenceTaskName"], t["status"]) for t in workflow["tasks"]] == [
        ("make", "COMPLETED"),
        ("take", "SCHEDULED"),
    ]
    assert workflow["tasks"][1]["inputData"] == {"data": BIG}
    assert objects(harness, workflow_id) == [reference[MARKER]["key"]]  # the next input is the same JSON
    assert len(harness.receive_all(harness.runtime.queues.task_queue_url("big_take"))) == 1


def test_removing_and_expiring_a_workflow_delete_its_payloads(harness: Harness):
    removed = start(harness, {"blob": "r" * 100_000})
    expired = start(harness, {"blob": "e" * 100_000})
    kept = start(harness, {"blob": "k" * 100_000})
    assert all(len(objects(harness, w)) == 1 for w in (removed, expired, kept))

    assert harness.api("DELETE", f"/api/workflow/{removed}/remove").status == 200
    assert objects(harness, removed) == []

    assert harness.api("DELETE", f"/api/workflow/{expired}").status == 200
    harness.pump()
    harness.clock.advance(31 * 86400)
    assert harness.expire() == 1
    harness.pump()
    assert objects(harness, expired) == []
    assert len(objects(harness, kept)) == 1


class S3Calls:
    """A payload store whose S3 client counts its calls (and is only made when first needed)."""

    def __init__(self, harness: Harness) -> None:
        self.calls: Counter[str] = Counter()
        self.made = 0
        real = harness.runtime.payloads
        harness.runtime.executions.payloads = Payloads(self._client, real.bucket, threshold=real.threshold)
        self._real = real

    def _client(self) -> Any:
        self.made += 1
        client = self._real.client
        client.meta.events.register("before-call.s3.*", lambda model, **_: self.calls.update([model.name]))
        return client


@pytest.fixture
def s3_calls(harness: Harness) -> Iterator[S3Calls]:
    yield S3Calls(harness)


def test_payloads_under_the_threshold_cost_no_s3_call(harness: Harness, s3_calls: S3Calls):
    workflow_id = start(harness, {"small": "x" * 60_000})
    (make,) = harness.api("GET", "/api/tasks/poll/batch/big_make?count=1&timeout=100&workerid=w1").json()
    update = {"workflowInstanceId": workflow_id, "taskId": make["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", {**update, "outputData": {"data": "d" * 60_000}}).status == 200
    harness.pump()
    run_sdk(harness, "big_take", lambda data: {"length": len(data)})

    assert execution(harness, workflow_id)["output"]["length"] == 60_000
    assert s3_calls.made == 0 and sum(s3_calls.calls.values()) == 0


def test_a_large_output_costs_one_put_and_the_decider_reads_it_once(harness: Harness, s3_calls: S3Calls):
    workflow_id = start(harness)
    (make,) = harness.api("GET", "/api/tasks/poll/batch/big_make?count=1&timeout=100&workerid=w1").json()
    update = {"workflowInstanceId": workflow_id, "taskId": make["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", {**update, "outputData": {"data": "d" * 100_000}}).status == 200
    harness.pump()
    for _ in range(3):  # decides over the unchanged workflow: the payload comes from the cache
        harness.runtime.queues.wake_workflows([workflow_id], DeciderReason.API)
        harness.pump()

    # one process here, one cache: the output's object is written once and never read back; the next
    # task's input is the same JSON (no second object)
    assert s3_calls.calls == Counter({"PutObject": 1})


def test_a_sub_workflow_takes_a_large_input_and_the_parent_header_stays_small(harness: Harness):
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    child = {
        "name": "big_child",
        "version": 1,
        "tasks": [
            {"name": "big_take", "taskReferenceName": "take", "inputParameters": {"d": "${workflow.input.d}"}}
        ],
    }
    parent = {
        "name": "big_parent",
        "version": 1,
        "tasks": [
            {
                "name": "child",
                "taskReferenceName": "child",
                "type": "SUB_WORKFLOW",
                "subWorkflowParam": {"name": "big_child", "version": 1},
                "inputParameters": {"d": "${workflow.input.d}"},
            }
        ],
    }
    for definition in (child, parent):
        assert harness.api("POST", "/api/metadata/workflow?overwrite=true", definition).status == 200
    blob = "s" * 100_000
    parent_id = harness.api("POST", "/api/workflow/big_parent", {"d": blob}).text
    harness.pump()
    assert_items_stay_small(harness, parent_id)  # the outbox's child start holds a reference

    (take,) = harness.api("GET", "/api/tasks/poll/batch/big_take?count=1&timeout=100&workerid=w1").json()
    assert take["inputData"] == {"d": blob}
    update = {
        "workflowInstanceId": take["workflowInstanceId"],
        "taskId": take["taskId"],
        "status": "COMPLETED",
    }
    assert harness.api("POST", "/api/tasks", update).status == 200
    harness.pump()
    assert execution(harness, parent_id)["status"] == "COMPLETED"


def test_an_sdk_worker_without_the_bucket_fails_a_task_whose_input_is_stored_there(harness: Harness):
    workflow_id = start(harness)
    run_sdk(harness, "big_make", lambda: {"data": "m" * 100_000})
    called: list[str] = []
    run_sdk(harness, "big_take", lambda data: called.append(data), bucket=False)

    take = execution(harness, workflow_id)["tasks"][1]
    assert take["status"] == "FAILED"
    assert "no bucket" in take["reasonForIncompletion"]
    assert called == []
