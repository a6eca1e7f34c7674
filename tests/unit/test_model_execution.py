"""Executions, requests and responses: the exact JSON shapes (REFERENCE 1.6, 1.7, 1.9)."""

import json
from typing import Any

from batonflow.model import (
    VALIDATION_FAILED_MESSAGE,
    BulkResponse,
    ErrorResponse,
    IdempotencyStrategy,
    SearchResult,
    StartWorkflowRequest,
    Task,
    TaskResult,
    TaskResultStatus,
    ValidationErrorItem,
    Workflow,
    WorkflowDef,
    WorkflowStatus,
    WorkflowStatusResponse,
    WorkflowSummary,
)

# REFERENCE 1.7, every field of the table (plus the computed loopOverTask and taskDefinition).
TASK_KEYS = {
    "taskId", "taskType", "taskDefName", "referenceTaskName", "status", "inputData", "outputData",
    "workflowInstanceId", "workflowType", "correlationId", "workflowPriority", "seq", "retryCount",
    "retriedTaskId", "retried", "executed", "pollCount", "scheduledTime", "startTime", "endTime",
    "updateTime", "firstStartTime", "startDelayInSeconds", "callbackAfterSeconds", "responseTimeoutSeconds",
    "workerId", "domain", "reasonForIncompletion", "workflowTask", "taskDefinition", "iteration",
    "loopOverTask", "subWorkflowId", "subworkflowChanged", "queueWaitTime", "rateLimitPerFrequency",
    "rateLimitFrequencyInSeconds", "isolationGroupId", "executionNameSpace",
    "externalInputPayloadStoragePath", "externalOutputPayloadStoragePath", "parentTaskId",
    "callbackFromWorker", "runtimeMetadata", "executionMetadata",
}  # fmt: skip

# REFERENCE 1.6, every field of the table.
WORKFLOW_KEYS = {
    "workflowId", "workflowName", "workflowVersion", "workflowDefinition", "status", "input", "output",
    "variables", "tasks", "correlationId", "priority", "taskToDomain", "reasonForIncompletion",
    "failedReferenceTaskNames", "failedTaskNames", "createTime", "startTime", "updateTime", "endTime",
    "lastRetriedTime", "parentWorkflowId", "parentWorkflowTaskId", "reRunFromWorkflowId", "event",
    "externalInputPayloadStoragePath", "externalOutputPayloadStoragePath", "ownerApp", "createdBy",
    "updatedBy", "history", "idempotencyKey", "rateLimitKey", "rateLimited",
}  # fmt: skip

WORKFLOW_TASK = {"name": "greet", "taskReferenceName": "greet_ref", "taskDefinition": {"name": "greet"}}


def _full_task() -> dict[str, Any]:
    return {
        "taskId": "t-1", "taskType": "greet", "taskDefName": "greet", "referenceTaskName": "greet_ref__2",
        "status": "IN_PROGRESS", "inputData": {"name": "x"}, "outputData": {}, "workflowInstanceId": "wf-1",
        "workflowType": "greetings", "correlationId": "c", "workflowPriority": 1, "seq": 3, "retryCount": 1,
        "retriedTaskId": "t-0", "retried": False, "executed": False, "pollCount": 1, "scheduledTime": 10,
        "startTime": 20, "endTime": 0, "updateTime": 20, "firstStartTime": 20, "startDelayInSeconds": 0,
        "callbackAfterSeconds": 0, "responseTimeoutSeconds": 3600, "workerId": "host", "domain": "d",
        "reasonForIncompletion": "r", "workflowTask": WORKFLOW_TASK, "iteration": 2, "subWorkflowId": "s",
        "subworkflowChanged": False, "queueWaitTime": 10, "rateLimitPerFrequency": 0,
        "rateLimitFrequencyInSeconds": 1, "isolationGroupId": "g", "executionNameSpace": "n",
        "externalInputPayloadStoragePath": "in", "externalOutputPayloadStoragePath": "out",
        "parentTaskId": "p", "callbackFromWorker": True, "runtimeMetadata": {"k": "v"},
        "executionMetadata": {"serverSendTime": 5},
    }  # fmt: skip


def test_task_is_written_with_exactly_conductors_keys() -> None:
    written = Task.from_conductor(_full_task()).to_conductor()

    assert set(written) == TASK_KEYS
    assert written["taskDefinition"] == written["workflowTask"]["taskDefinition"]
    assert written["loopOverTask"] is True


def test_task_computed_fields_are_not_read_back() -> None:
    task = Task.from_conductor({"taskId": "t", "taskDefinition": {"name": "ignored"}, "loopOverTask": True})

    assert task.task_definition is None
    assert task.loop_over_task is False


def test_polled_task_has_what_conductor_python_needs() -> None:
    # python-sdk-wire 3a.6: non-empty ids, an *object* inputData, a valid status, integer epoch-ms times.
    written = json.loads(
        Task(task_id="t", workflow_instance_id="w", status="IN_PROGRESS").to_conductor_json()
    )

    assert written["inputData"] == {}
    assert written["status"] == "IN_PROGRESS"
    assert all(isinstance(written[k], int) for k in ("scheduledTime", "startTime", "endTime", "updateTime"))


def test_workflow_is_written_with_exactly_conductors_keys() -> None:
    full = {key: None for key in WORKFLOW_KEYS} | {
        "workflowId": "wf-1", "workflowDefinition": {"name": "greetings", "version": 2},
        "status": "FAILED", "input": {"a": 1}, "output": {}, "variables": {}, "tasks": [_full_task()],
        "correlationId": "c", "priority": 5, "taskToDomain": {"greet": "d"}, "reasonForIncompletion": "r",
        "failedReferenceTaskNames": ["greet_ref"], "failedTaskNames": ["greet"], "createTime": 100,
        "updateTime": 200, "endTime": 300, "lastRetriedTime": 0, "parentWorkflowId": "p",
        "parentWorkflowTaskId": "pt", "reRunFromWorkflowId": "rr", "event": "e",
        "externalInputPayloadStoragePath": "in", "externalOutputPayloadStoragePath": "out",
        "ownerApp": "app", "createdBy": "me", "updatedBy": "me", "history": [], "idempotencyKey": "k",
        "rateLimitKey": "rk", "rateLimited": False,
    }  # fmt: skip

    written = Workflow.from_conductor(full).to_conductor()

    assert set(written) == WORKFLOW_KEYS
    assert (written["workflowName"], written["workflowVersion"]) == ("greetings", 2)
    assert written["startTime"] == written["createTime"] == 100
    assert set(written["tasks"][0]) == TASK_KEYS


def test_workflow_name_comes_from_the_definition_when_there_is_one() -> None:
    snapshot = Workflow(workflow_definition=WorkflowDef(name="wf", version=3), workflow_name="stale")
    header_only = Workflow.from_conductor({"workflowName": "wf", "workflowVersion": 3})

    assert (snapshot.workflow_name, snapshot.workflow_version) == ("wf", 3)
    assert (header_only.workflow_name, header_only.workflow_version) == ("wf", 3)
    assert header_only.status is WorkflowStatus.RUNNING


def test_task_result_from_conductor_python_update_v2() -> None:
    body = {
        "workflowInstanceId": "77a9",
        "taskId": "fb81",
        "workerId": "vm",
        "status": "FAILED",
        "outputData": {"result": None},
        "extendLease": False,
        "reasonForIncompletion": "boom",
        "logs": [{"log": "hello log"}],
    }

    result = TaskResult.from_conductor(body)

    assert result.status is TaskResultStatus.FAILED
    assert result.output_data == {"result": None}
    assert result.logs[0].log == "hello log"
    assert result.to_conductor() == body | {
        "callbackAfterSeconds": 0,
        "logs": [{"log": "hello log", "createdTime": 0}],
        "supportsCancellation": False,
    }


def test_task_result_heartbeat_and_missing_ids_still_parse() -> None:
    heartbeat = TaskResult.from_conductor({"taskId": "t", "status": "IN_PROGRESS", "extendLease": True})

    assert heartbeat.extend_lease is True
    assert heartbeat.workflow_instance_id is None  # reported by validate_task_result, not by parsing


def test_start_request_from_conductor_python() -> None:
    body = {
        "name": "greetings",
        "version": 1,
        "correlationId": "c2",
        "input": {"n": None},
        "taskToDomain": {"greet": "d1"},
        "priority": 1,
        "idempotencyStrategy": "FAIL",
        "workflowDef": {"name": "greetings", "tasks": [{"name": "greet", "taskReferenceName": "g"}]},
    }

    request = StartWorkflowRequest.from_conductor(body)

    assert request.idempotency_strategy is IdempotencyStrategy.FAIL
    assert request.workflow_def is not None and request.workflow_def.tasks[0].task_reference_name == "g"
    assert request.input == {"n": None}


def test_start_request_keeps_an_explicit_null_input_but_defaults_a_missing_one() -> None:
    assert StartWorkflowRequest.from_conductor({"name": "w", "input": None}).input is None
    assert StartWorkflowRequest.from_conductor({"name": "w"}).input == {}
    assert StartWorkflowRequest.from_conductor({"name": "w", "priority": None}).priority == 0


def test_status_response_writes_output_only_when_present() -> None:
    bare = WorkflowStatusResponse(workflow_id="w", status=WorkflowStatus.COMPLETED)
    full = WorkflowStatusResponse(workflow_id="w", status=WorkflowStatus.COMPLETED, output={"k": None})

    assert bare.to_conductor() == {"workflowId": "w", "status": "COMPLETED"}
    assert full.to_conductor()["output"] == {"k": None}


def test_workflow_summary_from_workflow() -> None:
    workflow = Workflow(
        workflow_id="w1",
        workflow_name="greetings",
        workflow_version=2,
        status=WorkflowStatus.FAILED,
        create_time=1_700_000_000_123,
        update_time=1_700_000_001_000,
        end_time=1_700_000_001_500,
        input={"a": None, "b": [1]},
        failed_reference_task_names=["r1", "r2"],
        failed_task_names=["t1"],
    )

    summary = WorkflowSummary.from_workflow(workflow).to_conductor()

    assert summary["startTime"] == "2023-11-14T22:13:20.123Z"
    assert summary["endTime"] == "2023-11-14T22:13:21.500Z"
    assert summary["executionTime"] == 1377
    assert (summary["workflowType"], summary["version"], summary["status"]) == ("greetings", 2, "FAILED")
    assert json.loads(summary["input"]) == {"a": None, "b": [1]}
    assert summary["failedReferenceTaskNames"] == "r1,r2"
    assert summary["parentWorkflowId"] == ""


def test_running_workflow_summary_has_no_end_time() -> None:
    summary = WorkflowSummary.from_workflow(Workflow(workflow_id="w", create_time=1)).to_conductor()

    assert "endTime" not in summary
    assert summary["executionTime"] == 0


def test_search_result_is_generic() -> None:
    body = {"totalHits": 1, "results": [{"workflowId": "w", "status": "RUNNING", "version": 1}]}

    result = SearchResult[WorkflowSummary].from_conductor(body)

    assert isinstance(result.results[0], WorkflowSummary)
    assert result.to_conductor()["results"][0]["workflowId"] == "w"


def test_validation_error_response_shape() -> None:
    item = ValidationErrorItem(path="tasks[0].name", message="WorkflowTask name cannot be empty or null")

    body = ErrorResponse.validation_failed([item]).to_conductor()

    assert body == {
        "status": 400,
        "message": VALIDATION_FAILED_MESSAGE,
        "retryable": False,
        "validationErrors": [
            {"path": "tasks[0].name", "message": "WorkflowTask name cannot be empty or null"}
        ],
    }


def test_plain_error_response_shape() -> None:
    body = ErrorResponse(
        status=404, message="No such workflow found by id: x", instance="baton"
    ).to_conductor()

    assert body == {
        "status": 404,
        "message": "No such workflow found by id: x",
        "instance": "baton",
        "retryable": False,
    }


def test_bulk_response_shape() -> None:
    body = BulkResponse(bulk_successful_results=["a"], bulk_error_results={"b": "not found"}).to_conductor()

    assert body == {
        "bulkErrorResults": {"b": "not found"},
        "bulkSuccessfulResults": ["a"],
        "message": "Bulk Request has been processed.",
    }
