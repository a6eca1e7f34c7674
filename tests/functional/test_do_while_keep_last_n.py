"""DO_WHILE ``keepLastN`` on moto: old iterations' task items are really deleted from the table, only after
the header commit (a lost race deletes nothing), in batches of 25 with unprocessed items retried."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from batonflow.engine.decider import decide
from batonflow.engine.plan import Plan
from batonflow.engine.state import WorkflowState
from batonflow.model import Task, TaskStatus
from batonflow.store.errors import ConflictError
from batonflow.store.executions import ExecutionStore
from tests.support.engine import T0, definition, new_workflow
from tests.support.stack import REGION, Harness

LOOP = {
    "name": "loop",
    "taskReferenceName": "loop",
    "type": "DO_WHILE",
    "loopCondition": "$.loop['iteration'] < $.max",
    "inputParameters": {"max": "${workflow.input.max}", "keepLastN": 2},
    "loopOver": [
        {"name": "tick", "taskReferenceName": "tick", "inputParameters": {"n": "${loop.iteration}"}}
    ],
}
WORKFLOW = {
    "name": "ticker",
    "version": 1,
    "tasks": [LOOP, {"name": "after", "taskReferenceName": "after", "type": "NOOP"}],
    "outputParameters": {"last": "${loop.output}"},
}


def stored_sort_keys(harness: Harness, workflow_id: str) -> set[str]:
    client = boto3.client("dynamodb", region_name=REGION)
    response = client.query(
        TableName=harness.runtime.settings.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"WF#{workflow_id}"}},
        ConsistentRead=True,
    )
    return {item["SK"]["S"] for item in response["Items"]}


def test_iterations_older_than_keep_last_n_are_deleted_from_the_table(harness: Harness):
    assert harness.api("POST", "/api/metadata/taskdefs", [{"name": "tick", "retryCount": 0}]).status == 200
    assert harness.api("POST", "/api/metadata/workflow", WORKFLOW).status == 200
    response = harness.api("POST", "/api/workflow/ticker", {"max": 5})
    assert response.status == 200, response.text
    workflow_id = response.text
    harness.pump()

    polled: list[str] = []
    for n in range(1, 6):
        batch = harness.api("GET", "/api/tasks/poll/batch/tick?count=1&timeout=100&workerid=w1").json()
        assert [(t["referenceTaskName"], t["inputData"]) for t in batch] == [(f"tick__{n}", {"n": n})]
        polled.append(batch[0]["taskId"])
        result = {
            "workflowInstanceId": workflow_id,
            "taskId": batch[0]["taskId"],
            "status": "COMPLETED",
            "outputData": {"n": n},
        }
        assert harness.api("POST", "/api/tasks", result).status == 200
        harness.pump()

    execution = harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=true").json()
    assert execution["status"] == "COMPLETED"
    assert [t["referenceTaskName"] for t in execution["tasks"]] == ["loop", "tick__4", "tick__5", "after"]
    assert execution["output"]["last"] == {"iteration": 5, "4": {"tick": {"n": 4}}, "5": {"tick": {"n": 5}}}

    kept = {f"T#{t['taskId']}" for t in execution["tasks"]}
    assert stored_sort_keys(harness, workflow_id) == {"#HEADER", *kept}
    assert {f"T#{task_id}" for task_id in polled[3:]} <= kept
    for task_id in polled[:3]:
        assert harness.runtime.executions.get_task(workflow_id, task_id) is None
        assert harness.api("GET", f"/api/tasks/{task_id}").status == 404


def _decide(store: ExecutionStore, workflow_id: str, now: int) -> tuple[Any, Plan]:
    loaded = store.load(workflow_id)
    assert loaded is not None
    state = WorkflowState(workflow=loaded.workflow, generation=loaded.header.generation)
    return loaded, decide(state, now)


def _complete(store: ExecutionStore, workflow_id: str, reference: str, now: int) -> str:
    loaded = store.load(workflow_id)
    assert loaded is not None
    task = next(t for t in loaded.tasks if t.reference_task_name == reference)
    done = task.model_copy(update={"status": TaskStatus.COMPLETED, "end_time": now, "update_time": now})
    assert store.update_open_task(done)
    return task.task_id


def test_a_decide_that_loses_the_race_deletes_nothing(harness: Harness):
    store = harness.runtime.executions
    loop = {**LOOP, "inputParameters": {"max": 3, "keepLastN": 1}}
    workflow = new_workflow(definition([loop])).workflow
    store.create(workflow, wake_at=None)
    loaded, plan = _decide(store, workflow.workflow_id, T0)
    store.commit(loaded, plan, T0, [])
    first = _complete(store, workflow.workflow_id, "tick__1", T0 + 1)

    loaded, plan = _decide(store, workflow.workflow_id, T0 + 2)
    assert plan.removed_tasks == (first,)
    rival, _ = _decide(store, workflow.workflow_id, T0 + 2)
    store.commit(rival, Plan(), T0 + 2, [])  # another decide commits first
    with pytest.raises(ConflictError):
        store.commit(loaded, plan, T0 + 2, [])
    assert f"T#{first}" in stored_sort_keys(harness, workflow.workflow_id)

    loaded, plan = _decide(store, workflow.workflow_id, T0 + 3)
    assert plan.removed_tasks == (first,)
    store.commit(loaded, plan, T0 + 3, [])
    assert f"T#{first}" not in stored_sort_keys(harness, workflow.workflow_id)


class _Throttled:
    """The DynamoDB client, but the first BatchWriteItem leaves its last request unprocessed."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.batches: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        (table, requests), *_ = RequestItems.items()
        self.batches.append(len(requests))
        if len(self.batches) > 1:
            return self._client.batch_write_item(RequestItems=RequestItems)
        self._client.batch_write_item(RequestItems={table: requests[:-1]})
        return {"UnprocessedItems": {table: requests[-1:]}}


def test_deletions_go_in_batches_of_25_and_retry_unprocessed_items(harness: Harness):
    throttled = _Throttled(boto3.client("dynamodb", region_name=REGION))
    store = ExecutionStore(throttled, harness.runtime.settings.table)
    workflow = new_workflow(definition([{"name": "a", "taskReferenceName": "a"}])).workflow
    store.create(workflow, wake_at=None)
    tasks = [
        Task(
            task_id=f"task-{i}",
            reference_task_name=f"a__{i}",
            task_type="SIMPLE",
            status=TaskStatus.COMPLETED,
            workflow_instance_id=workflow.workflow_id,
            seq=i,
        )
        for i in range(1, 31)
    ]
    loaded = store.load(workflow.workflow_id)
    assert loaded is not None
    store.commit(loaded, Plan(new_tasks=tuple(tasks)), T0, [])
    assert len(stored_sort_keys(harness, workflow.workflow_id)) == 31

    loaded = store.load(workflow.workflow_id)
    assert loaded is not None
    gone = (*(t.task_id for t in tasks), "never-stored")  # deleting a missing item is not an error
    store.commit(loaded, Plan(removed_tasks=gone), T0 + 1, [])

    assert stored_sort_keys(harness, workflow.workflow_id) == {"#HEADER"}
    assert throttled.batches == [25, 1, 6]
