"""What applying a worker's result costs in DynamoDB (issue "cost of the hot path"): a finishing result is one
conditional write and no read, from the results queue (SQS-native workers) as over REST.

An attempt nobody has written to since it was created is held in its workflow's header, and its task
message carries its record: an SQS-native worker hands the record back with its result, whose one write
(PutItem, ``attribute_not_exists``) creates the attempt's item with the result. An attempt with an item
(a REST worker's lease created it) gets one conditional UpdateItem, which returns the attempt
(``ALL_NEW``) for the decide and, when its condition fails, the attempt as it is (``ALL_OLD`` on failure),
which tells a finished attempt from a missing one without a GetItem. From the results queue, the complete
function then decides the workflow itself: one Query, the commit, and no decider message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from batonflow.model import TaskStatus
from batonflow.model.wire import ResultMessage
from batonflow.service.tasks import Applied, apply_result
from tests.support.stack import Harness

ONE_TASK = {"name": "one", "tasks": [{"name": "job", "taskReferenceName": "job_ref"}]}
TWO_TASKS = {
    "name": "two",
    "tasks": [{"name": "job", "taskReferenceName": "first"}, {"name": "job", "taskReferenceName": "second"}],
}
LOOP_ONCE = {
    "name": "loops",
    "tasks": [
        {
            "name": "loop",
            "taskReferenceName": "loop",
            "type": "DO_WHILE",
            "loopCondition": "false",
            "loopOver": [{"name": "job", "taskReferenceName": "job_ref"}],
        }
    ],
}
WAIT_THEN_JOB = {
    "name": "waits",
    "tasks": [
        {"name": "hold", "taskReferenceName": "hold", "type": "WAIT"},
        {"name": "job", "taskReferenceName": "job_ref"},
    ],
}


class DynamoCalls:
    """The engine's DynamoDB calls, by operation name."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def record(self, event_name: str, **_: Any) -> None:
        self.operations.append(event_name.split(".")[-1])


@pytest.fixture
def dynamo_calls(harness: Harness) -> DynamoCalls:
    calls = DynamoCalls()
    harness.runtime.executions._client.meta.events.register("before-parameter-build.dynamodb", calls.record)
    return calls


def start(harness: Harness, definition: dict[str, Any]) -> str:
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", definition).status == 200
    workflow_id = harness.api("POST", f"/api/workflow/{definition['name']}", {}).text
    harness.pump()
    return workflow_id


def take_message(harness: Harness) -> dict[str, Any]:
    """What an SQS-native worker does: receive the task message itself (no lease)."""
    url = harness.runtime.queues.task_queue_url("job")
    [message] = harness.receive_all(url)
    harness.runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return json.loads(message["Body"])


def send_result(harness: Harness, result: ResultMessage) -> None:
    harness.runtime.sqs.send_message(QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json())


def workflow(harness: Harness, workflow_id: str) -> dict[str, Any]:
    response = harness.api("GET", f"/api/workflow/{workflow_id}")
    assert response.status == 200, response.text
    return response.json()


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR"])
def test_a_result_from_the_results_queue_is_one_put_item_and_no_read_then_its_decide(
    harness: Harness, dynamo_calls: DynamoCalls, status: str
):
    workflow_id = start(harness, ONE_TASK)
    task = take_message(harness)
    assert task["attempt"]  # held in the header: the message carries its record
    received_at = harness.clock() - 250
    result = ResultMessage(
        workflowInstanceId=workflow_id,
        taskId=task["taskId"],
        status=status,
        outputData={"answer": 42},
        reasonForIncompletion=None if status == "COMPLETED" else "broken",
        workerId="sqs-worker",
        startTime=received_at,
        attempt=task["attempt"],
    )
    send_result(harness, result)
    dynamo_calls.operations.clear()

    harness.pump("complete")

    decide = {
        "COMPLETED": ["Query", "UpdateItem"],  # load; the header's commit ends the workflow
        # the failed one marked retried; the header's commit, which holds the retry
        "FAILED": ["Query", "UpdateItem", "UpdateItem"],
        "FAILED_WITH_TERMINAL_ERROR": ["Query", "UpdateItem"],
    }
    assert dynamo_calls.operations == ["PutItem", *decide[status]]
    assert harness.receive_all(harness.queue_url("DeciderQueue")) == []
    after = workflow(harness, workflow_id)
    stored = after["tasks"][0]
    assert stored["status"] == status
    assert stored["outputData"] == {"answer": 42}
    assert stored["startTime"] == received_at  # the worker's pick-up time, as it was never leased
    assert stored["pollCount"] == 1
    assert stored["endTime"] == harness.clock()
    assert stored["workerId"] == "sqs-worker"
    assert stored.get("reasonForIncompletion") == result.reason_for_incompletion
    expected = {
        "COMPLETED": ("COMPLETED", 1),
        "FAILED": ("RUNNING", 2),
        "FAILED_WITH_TERMINAL_ERROR": ("FAILED", 1),
    }
    assert (after["status"], len(after["tasks"])) == expected[status]  # a FAILED attempt is retried


def test_a_rest_workers_result_is_one_update_item_and_no_read(harness: Harness, dynamo_calls: DynamoCalls):
    workflow_id = start(harness, ONE_TASK)
    [task] = harness.api("GET", "/api/tasks/poll/batch/job?count=1&workerid=w").json()
    harness.clock.advance(2)
    dynamo_calls.operations.clear()

    result = {"workflowInstanceId": workflow_id, "taskId": task["taskId"], "status": "COMPLETED"}
    assert harness.api("POST", "/api/tasks", {**result, "outputData": {"n": 1}}).status == 200

    # the result, then the decide in the request: its load and the header's commit (the workflow ends)
    assert dynamo_calls.operations == ["UpdateItem", "Query", "UpdateItem"]
    [stored] = workflow(harness, workflow_id)["tasks"]
    assert (stored["status"], stored["outputData"], stored["workerId"]) == ("COMPLETED", {"n": 1}, "w")
    assert (stored["startTime"], stored["pollCount"]) == (task["startTime"], task["pollCount"])
    assert stored["endTime"] == harness.clock() > task["startTime"]
    assert workflow(harness, workflow_id)["status"] == "COMPLETED"


def test_an_update_by_reference_of_a_wait_task_writes_it_without_reading_it_again(
    harness: Harness, dynamo_calls: DynamoCalls
):
    workflow_id = start(harness, WAIT_THEN_JOB)
    dynamo_calls.operations.clear()

    response = harness.api("POST", f"/api/tasks/{workflow_id}/hold/COMPLETED", {"by": "hand"})

    assert response.status == 200, response.text
    # load the workflow, write the task; then the decide in the request: load, the header's commit, which
    # holds the new attempt
    assert dynamo_calls.operations == ["Query", "UpdateItem", "Query", "UpdateItem"]
    hold, job = workflow(harness, workflow_id)["tasks"]
    assert (hold["status"], hold["outputData"], hold["pollCount"]) == ("COMPLETED", {"by": "hand"}, 1)
    assert job["status"] == "SCHEDULED"


def test_a_result_without_the_attempts_record_reads_it_from_the_header(
    harness: Harness, dynamo_calls: DynamoCalls
):
    """A result that does not hand back the record (another client than ``batonflow.sdk``) for an attempt
    held in the header: the UpdateItem finds no item, the header is read, and the attempt's item is
    created with the result (its start time and poll count set, as it was never leased)."""
    workflow_id = start(harness, ONE_TASK)
    task = take_message(harness)
    harness.clock.advance(3)
    send_result(
        harness, ResultMessage(workflowInstanceId=workflow_id, taskId=task["taskId"], status="COMPLETED")
    )
    dynamo_calls.operations.clear()

    harness.pump("complete")

    # the result's write, the header's read, the item; then the decide
    assert dynamo_calls.operations == ["UpdateItem", "GetItem", "PutItem", "Query", "UpdateItem"]
    harness.pump()
    [stored] = workflow(harness, workflow_id)["tasks"]
    assert stored["status"] == "COMPLETED"
    assert stored["startTime"] == stored["endTime"] == harness.clock()
    assert stored["pollCount"] == 1


def test_a_result_that_misjudges_an_attempt_with_an_item_is_written_from_the_attempt_it_gets_back(
    harness: Harness, dynamo_calls: DynamoCalls
):
    """A result without a pick-up time is taken to be for a leased attempt; for an item never leased (a
    DO_WHILE's attempts are never held in the header) the first write fails, hands the attempt back, and
    the second sets its start time and poll count."""
    workflow_id = start(harness, LOOP_ONCE)
    task = take_message(harness)
    assert "attempt" not in task
    harness.clock.advance(3)
    send_result(
        harness, ResultMessage(workflowInstanceId=workflow_id, taskId=task["taskId"], status="COMPLETED")
    )
    dynamo_calls.operations.clear()

    harness.pump("complete")

    assert dynamo_calls.operations[:3] == ["UpdateItem", "UpdateItem", "Query"]  # two tries, the decide
    stored = next(t for t in workflow(harness, workflow_id)["tasks"] if t["taskId"] == task["taskId"])
    assert stored["status"] == "COMPLETED"
    assert stored["startTime"] == stored["endTime"] == harness.clock()
    assert stored["pollCount"] == 1


def test_a_result_delivered_twice_changes_nothing_and_schedules_nothing_the_second_time(
    harness: Harness, dynamo_calls: DynamoCalls
):
    workflow_id = start(harness, TWO_TASKS)
    first = take_message(harness)
    result = ResultMessage(
        workflowInstanceId=workflow_id,
        taskId=first["taskId"],
        status="COMPLETED",
        outputData={"n": 1},
        startTime=harness.clock(),
    )
    send_result(harness, result)
    harness.pump()
    after_first = workflow(harness, workflow_id)
    assert [t["status"] for t in after_first["tasks"]] == ["COMPLETED", "SCHEDULED"]
    queued = harness.receive_all(harness.runtime.queues.task_queue_url("job"))
    assert len(queued) == 1
    harness.clock.advance(5)
    send_result(harness, result.model_copy(update={"output_data": {"n": 2}}))
    dynamo_calls.operations.clear()

    harness.pump("complete")

    # its condition fails: nothing written; the decide it still asks for (a crash may have come between a
    # first delivery's write and its decide) reads the workflow and has nothing to do
    assert dynamo_calls.operations == ["UpdateItem", "Query"]
    harness.pump()
    assert workflow(harness, workflow_id)["tasks"] == after_first["tasks"]
    assert harness.receive_all(harness.runtime.queues.task_queue_url("job")) == []  # no second dispatch


def test_a_result_for_an_unknown_task_is_dropped_and_creates_no_item(harness: Harness):
    workflow_id = start(harness, ONE_TASK)
    before = workflow(harness, workflow_id)
    stray = ResultMessage(workflowInstanceId=workflow_id, taskId="no-such-task", status="COMPLETED")
    send_result(harness, stray)

    harness.pump()

    assert harness.receive_all(harness.queue_url("ResultsQueue")) == []  # dropped, not retried
    assert harness.receive_all(harness.queue_url("ResultsDLQ")) == []
    assert harness.runtime.executions.get_task(workflow_id, "no-such-task") is None
    assert workflow(harness, workflow_id) == before
    rest = harness.api("POST", "/api/tasks", stray.model_dump(by_alias=True, exclude_none=True))
    assert rest.status == 404
    assert harness.runtime.executions.get_task(workflow_id, "no-such-task") is None


def test_a_result_for_an_attempt_its_terminated_workflow_canceled_is_already_done(
    harness: Harness, dynamo_calls: DynamoCalls
):
    workflow_id = start(harness, ONE_TASK)
    task = take_message(harness)
    assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop", {}).status == 200
    harness.pump()
    [canceled] = workflow(harness, workflow_id)["tasks"]
    assert canceled["status"] == "CANCELED"
    dynamo_calls.operations.clear()

    outcome = apply_result(
        harness.runtime,
        ResultMessage(
            workflowInstanceId=workflow_id,
            taskId=task["taskId"],
            status="COMPLETED",
            outputData={"late": True},
            startTime=harness.clock(),
        ),
    )

    assert outcome.applied == Applied.ALREADY_DONE
    assert outcome.task.status == TaskStatus.CANCELED
    assert (outcome.task.task_id, outcome.task.seq) == (task["taskId"], canceled["seq"])
    assert dynamo_calls.operations == ["UpdateItem"]
    assert workflow(harness, workflow_id)["tasks"] == [canceled]
