"""Item encoding of workflow headers and task attempts: what is written comes back unchanged."""

from __future__ import annotations

from typing import Any

from batonflow.model import Task, TaskStatus, Workflow, WorkflowStatus
from batonflow.store.attrs import item_size
from batonflow.store.layout import (
    DefinitionSnapshot,
    definition_from_snapshot,
    header_from_item,
    header_item,
    task_from_item,
    task_item,
)
from tests.support.engine import T0, definition

UNICODE = {"name": "Zoë 名前 Ωμέγα 🎉", "emptyMap": {}, "kept": {"k": None}, "list": [None, 1.5, True, "ü"]}
"""Non-ASCII text, an empty map and map/list nulls (which Conductor keeps, unlike null fields)."""
BIG = {"blob": "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(60_000)), "rows": list(range(5000))}
"""Some 180 KB of JSON that compresses badly (CJK characters in no particular order)."""


def _definition():
    return definition(
        [
            {
                "name": "fetch",
                "taskReferenceName": "fetch_ref",
                "inputParameters": {"user": "${workflow.input.name}", "empty": {}, "none": None},
            },
            {
                "name": "fork",
                "taskReferenceName": "fork_ref",
                "type": "FORK_JOIN",
                "forkTasks": [
                    [{"name": "left", "taskReferenceName": "left_ref", "optional": True}],
                    [{"name": "right", "taskReferenceName": "right_ref", "startDelay": 5}],
                ],
            },
            {"name": "join", "taskReferenceName": "join_ref", "type": "JOIN", "joinOn": ["left_ref"]},
            {
                "name": "switch",
                "taskReferenceName": "switch_ref",
                "type": "SWITCH",
                "evaluatorType": "value-param",
                "expression": "kind",
                "inputParameters": {"kind": "${workflow.input.kind}"},
                "decisionCases": {"a": [{"name": "noop", "taskReferenceName": "noop_ref", "type": "NOOP"}]},
            },
            {
                "name": "child",
                "taskReferenceName": "child_ref",
                "type": "SUB_WORKFLOW",
                "subWorkflowParam": {
                    "name": "inline",
                    "workflowDefinition": {
                        "name": "inline",
                        "tasks": [{"name": "fetch", "taskReferenceName": "inner_ref"}],
                    },
                },
            },
        ],
        # explicit values equal to Conductor's defaults, and values that are not
        {"fetch": {"retryCount": 3, "retryDelaySeconds": 60, "timeoutPolicy": "RETRY", "inputKeys": ["u"]}},
        name="encoded",
        version=4,
        restartable=False,
        timeoutSeconds=600,
        outputParameters={"user": "${fetch_ref.output.user}"},
    )


def _workflow(workflow_input: dict[str, Any], **fields: Any) -> Workflow:
    return Workflow(
        workflow_id="wf-1",
        workflow_definition=_definition(),
        status=WorkflowStatus.RUNNING,
        input=workflow_input,
        create_time=T0,
        update_time=T0 + 5,
        correlation_id="corr-é",
        priority=7,
        task_to_domain={"fetch": "blue"},
        parent_workflow_id="parent-1",
        parent_workflow_task_id="parent-task-1",
        idempotency_key="key-1",
        created_by="ada",
        variables={"v": UNICODE},
        output={"out": [1, None]},
        failed_reference_task_names=["a_ref"],
        failed_task_names=["a"],
        reason_for_incompletion="it broke ✗",
        **fields,
    )


def _task(input_data: dict[str, Any]) -> Task:
    workflow_task = _definition().tasks[0]
    return Task(
        task_type="fetch",
        task_def_name="fetch",
        status=TaskStatus.IN_PROGRESS,
        input_data=input_data,
        reference_task_name="fetch_ref",
        retry_count=1,
        seq=3,
        correlation_id="corr-é",
        poll_count=2,
        scheduled_time=T0,
        start_time=T0 + 1,
        update_time=T0 + 2,
        start_delay_in_seconds=4,
        retried_task_id="task-0",
        callback_from_worker=False,
        response_timeout_seconds=3600,
        workflow_instance_id="wf-1",
        workflow_type="encoded",
        task_id="task-1",
        worker_id="worker-ü",
        output_data={"partial": UNICODE},
        workflow_task=workflow_task,
        domain="blue",
        workflow_priority=7,
        iteration=2,
        queue_wait_time=9,
    )


def _stored(workflow: Workflow, **header: Any) -> Workflow:
    """A header written and read back, its definition from the snapshot item stored beside it."""
    snapshot = (
        None if workflow.workflow_definition is None else DefinitionSnapshot.of(workflow.workflow_definition)
    )
    snapshots = {} if snapshot is None else {snapshot.ref: snapshot.item()}
    item = header_item(workflow, snapshot, **header)
    return header_from_item(item, lambda ref: definition_from_snapshot(snapshots[ref])).workflow


def test_a_header_comes_back_as_written_with_unicode_and_null_map_values():
    workflow = _workflow(UNICODE)

    assert _stored(workflow, generation=2, wake_at=T0 + 60) == workflow


def test_a_header_with_a_large_input_comes_back_as_written():
    workflow = _workflow(BIG)

    assert _stored(workflow) == workflow


def test_a_header_keeps_the_definition_defaults_and_the_values_written_equal_to_them():
    loaded = _stored(_workflow({})).workflow_definition

    assert loaded is not None
    fetch = loaded.tasks[0].task_definition
    assert fetch is not None
    assert (fetch.retry_count, fetch.retry_delay_seconds, fetch.response_timeout_seconds) == (3, 60, 3600)
    assert loaded.to_conductor() == _definition().to_conductor()


def test_a_header_names_its_definition_snapshot_and_holds_none_of_it():
    workflow = _workflow({})
    snapshot = DefinitionSnapshot.of(_definition())

    item = header_item(workflow, snapshot)

    assert item["definitionRef"] == {"S": snapshot.ref}
    assert item_size(item) < item_size(snapshot.item())  # the definition was most of the header


def test_a_snapshot_id_names_the_content_of_a_definition():
    same = DefinitionSnapshot.of(_definition().model_copy(deep=True))
    changed = DefinitionSnapshot.of(_definition().model_copy(update={"description": "changed"}))

    assert same.ref == DefinitionSnapshot.of(_definition()).ref
    assert changed.ref != same.ref


def test_a_header_without_a_definition_snapshot_comes_back_without_one():
    workflow = _workflow({"k": "v"}).model_copy(
        update={"workflow_definition": None, "workflow_name": "named", "workflow_version": 3}
    )

    assert "definitionRef" not in header_item(workflow, None)
    assert _stored(workflow) == workflow


def test_a_task_attempt_comes_back_as_written_with_unicode_input():
    task = _task(UNICODE)

    assert task_from_item(task_item(task)) == task


def test_a_task_attempt_with_a_large_input_comes_back_as_written():
    task = _task(BIG)

    assert task_from_item(task_item(task)) == task
