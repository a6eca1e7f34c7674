"""The JSON rules every Conductor model shares (REFERENCE 1.1)."""

import json
from typing import Any

import pydantic
import pytest

from batonflow.model import (
    ConductorModel,
    RetryLogic,
    StartWorkflowRequest,
    Task,
    TaskDef,
    TaskResult,
    TaskStatus,
    TaskTimeoutPolicy,
    Workflow,
    WorkflowDef,
    WorkflowStatusResponse,
    WorkflowTask,
)

NULLS: dict[str, Any] = {"k": None, "nested": {"n": None}, "list": [None, {"m": None}], "kept": 1}


@pytest.mark.parametrize(
    ("model", "key"),
    [
        (Task, "inputData"),
        (Task, "outputData"),
        (Workflow, "input"),
        (Workflow, "output"),
        (Workflow, "variables"),
        (WorkflowTask, "inputParameters"),
        (WorkflowDef, "outputParameters"),
        (WorkflowDef, "variables"),
        (WorkflowDef, "inputTemplate"),
        (TaskDef, "inputTemplate"),
        (TaskResult, "outputData"),
        (StartWorkflowRequest, "input"),
        (WorkflowStatusResponse, "output"),
    ],
)
def test_null_values_inside_maps_survive_a_round_trip(model: type[ConductorModel], key: str) -> None:
    parsed = model.from_conductor({key: NULLS})

    assert parsed.to_conductor()[key] == NULLS
    assert json.loads(parsed.to_conductor_json())[key] == NULLS
    assert model.model_validate_json(parsed.to_conductor_json()).to_conductor()[key] == NULLS


def test_null_bean_fields_are_left_out_and_primitives_written() -> None:
    written = Task(task_id="t1").to_conductor()

    assert written["taskId"] == "t1"
    for absent in ("status", "workflowTask", "taskDefinition", "reasonForIncompletion", "workerId", "domain"):
        assert absent not in written
    assert (written["retryCount"], written["retried"], written["callbackFromWorker"]) == (0, False, True)
    assert None not in written.values()


def test_null_for_a_non_nullable_field_gives_its_default() -> None:
    parsed = TaskDef.from_conductor(
        {
            "name": "t",
            "retryCount": None,
            "responseTimeoutSeconds": None,
            "timeoutPolicy": None,
            "inputTemplate": None,
            "inputKeys": None,
        }
    )

    assert (parsed.retry_count, parsed.response_timeout_seconds) == (3, 3600)
    assert parsed.timeout_policy is TaskTimeoutPolicy.TIME_OUT_WF
    assert (parsed.input_template, parsed.input_keys) == ({}, [])


def test_null_maps_of_a_task_become_empty_objects_for_workers() -> None:
    # conductor-python workers crash on a null inputData; Java's setter also turns null into {}.
    parsed = Task.model_validate_json('{"taskId": "t", "inputData": null, "outputData": null}')

    assert (parsed.input_data, parsed.output_data) == ({}, {})


def test_unknown_fields_are_ignored() -> None:
    parsed = TaskDef.from_conductor({"name": "t", "someFutureField": {"x": 1}, "accessPolicy": {}})

    assert "someFutureField" not in parsed.to_conductor()
    assert parsed.name == "t"


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Task, {"status": "DONE"}),
        (TaskDef, {"name": "t", "retryLogic": "FOO"}),
        (WorkflowDef, {"name": "w", "timeoutPolicy": "RETRY"}),  # RETRY is a task-only policy
        (TaskResult, {"status": "SCHEDULED"}),  # workers may not report SCHEDULED
        (WorkflowDef, {"name": "w", "tasks": [{"name": "a", "taskDefinition": {"retryLogic": "X"}}]}),
    ],
)
def test_unknown_enum_values_are_rejected(model: type[ConductorModel], data: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        model.from_conductor(data)


def test_python_names_and_wire_names_are_both_accepted() -> None:
    by_wire = Task.from_conductor({"taskId": "t", "referenceTaskName": "r", "status": "IN_PROGRESS"})
    by_name = Task(task_id="t", reference_task_name="r", status=TaskStatus.IN_PROGRESS)

    assert by_wire == by_name


def test_enums_are_written_as_their_names() -> None:
    written = TaskDef(name="t", retry_logic=RetryLogic.LINEAR_BACKOFF).to_conductor()

    assert written["retryLogic"] == "LINEAR_BACKOFF"
    assert type(written["retryLogic"]) is str
