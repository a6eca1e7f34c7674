"""JOIN counters of a large fork under duplicate messages, lost races and a crash before the commit.

Each branch completion must be counted exactly once: never twice (the JOIN would complete while a branch
still runs) and never lost for good (the JOIN would wait forever).
"""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.engine.state import LARGE_WORKFLOW_TASKS
from batonflow.model import TaskStatus
from batonflow.model.wire import DeciderMessage, ResultMessage
from batonflow.service.deciding import decide_here
from batonflow.service.executor import run_decide
from batonflow.service.tasks import apply_result
from batonflow.store.attrs import n
from batonflow.store.errors import ConflictError
from batonflow.store.executions import ExecutionStore
from tests.support.sends import Wakes
from tests.support.stack import Harness

BRANCHES = LARGE_WORKFLOW_TASKS + 10
WORKFLOW = {
    "name": "wide",
    "version": 1,
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN_DYNAMIC",
            "inputParameters": {"forkTaskName": "leaf", "forkTaskInputs": "${workflow.input.items}"},
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"},
    ],
}


def start(harness: Harness) -> str:
    assert harness.api("POST", "/api/metadata/workflow", WORKFLOW).status == 200
    workflow_id = harness.api("POST", "/api/workflow/wide", {"items": list(range(BRANCHES))}).text
    harness.pump()
    return workflow_id


def leaves(harness: Harness, workflow_id: str) -> list[Any]:
    loaded = harness.runtime.executions.load(workflow_id)
    assert loaded is not None
    return [t for t in loaded.tasks if t.task_def_name == "leaf"]


def finish(harness: Harness, task: Any) -> None:
    result = ResultMessage(
        workflowInstanceId=task.workflow_instance_id, taskId=task.task_id, status="COMPLETED"
    )
    apply_result(harness.runtime, result)


def remaining(harness: Harness, workflow_id: str) -> int:
    loaded = harness.runtime.executions.load(workflow_id, include_tasks=False)
    assert loaded is not None
    [count] = loaded.header.joins.values()
    return count.remaining


def decide_for(harness: Harness, task: Any, **kwargs: Any) -> None:
    run_decide(harness.runtime, task.workflow_instance_id, task_ids=[task.task_id], large=True, **kwargs)


def test_a_branch_event_delivered_twice_is_counted_once(harness: Harness):
    workflow_id = start(harness)
    first = leaves(harness, workflow_id)[0]
    finish(harness, first)
    decide_for(harness, first)
    decide_for(harness, first)
    assert remaining(harness, workflow_id) == BRANCHES - 1


def test_a_decide_that_loses_the_race_counts_its_own_stamp_on_the_retry(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    workflow_id = start(harness)
    first = leaves(harness, workflow_id)[0]
    finish(harness, first)
    real_commit = ExecutionStore._commit_header
    raced: list[bool] = []

    def commit_after_someone_else(self: ExecutionStore, header: Any, *args: Any) -> None:
        if not raced:
            raced.append(True)
            real_commit(self, header, {"version": n(header.version + 1)}, [])  # another decide commits first
        real_commit(self, header, *args)

    monkeypatch.setattr(ExecutionStore, "_commit_header", commit_after_someone_else)
    decide_for(harness, first)
    assert raced and remaining(harness, workflow_id) == BRANCHES - 1


def test_an_early_branch_of_a_large_workflow_is_handed_to_the_decider_before_anything_is_written(
    harness: Harness, wakes: Wakes
):
    """Its seq does not say the workflow is large; its load does. Deciding it where its result lands
    would race the decider's decides of the same fork, and a lost race after a JOIN count's stamp would
    leave the decider a whole-workflow decide of thousands of attempts."""
    workflow_id = start(harness)
    wakes.messages.clear()  # the start's own
    tasks = leaves(harness, workflow_id)
    for task in tasks:
        finish(harness, task)
    early = tasks[0]
    assert early.seq < LARGE_WORKFLOW_TASKS
    message = DeciderMessage(workflowId=workflow_id, taskIds=[early.task_id])

    decide_here(harness.runtime, {workflow_id: message}, set())

    assert remaining(harness, workflow_id) == BRANCHES  # not counted, nor stamped: the decider counts it
    assert wakes.messages == [message]
    for task in tasks[1:]:
        decide_for(harness, task)
    harness.pump("decider")
    loaded = harness.runtime.executions.load(workflow_id)
    assert loaded is not None
    assert loaded.header.workflow.status.value == "COMPLETED"


def test_results_of_a_large_workflow_are_decided_by_the_decider_not_where_they_land(
    harness: Harness, wakes: Wakes
):
    """Decides of one wide fork running at once in complete functions keep losing races to each other;
    the decider decides the workflow alone, the results of a batch in one decide."""
    workflow_id = start(harness)
    wakes.messages.clear()  # the start's own
    late = [task for task in leaves(harness, workflow_id) if task.seq >= LARGE_WORKFLOW_TASKS]
    assert len(late) >= 5
    for task in late:
        result = ResultMessage(
            workflowInstanceId=workflow_id, taskId=task.task_id, status="COMPLETED", startTime=harness.clock()
        )
        harness.runtime.sqs.send_message(
            QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json()
        )

    harness.pump("complete")

    assert remaining(harness, workflow_id) == BRANCHES  # applied, not decided
    assert {(m.workflow_id, m.large) for m in wakes.messages} == {(workflow_id, True)}
    assert sorted(t for m in wakes.messages for t in m.task_ids) == sorted(t.task_id for t in late)
    harness.pump("decider")
    assert remaining(harness, workflow_id) == BRANCHES - len(late)


def test_a_crash_between_the_stamp_and_the_commit_is_repaired_by_the_redelivery(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    workflow_id = start(harness)
    tasks = leaves(harness, workflow_id)
    finish(harness, tasks[0])
    real_commit = ExecutionStore._commit_header

    def crash(*args: Any) -> None:
        raise RuntimeError("the function died")

    monkeypatch.setattr(ExecutionStore, "_commit_header", crash)
    with pytest.raises(RuntimeError):
        decide_for(harness, tasks[0])
    monkeypatch.setattr(ExecutionStore, "_commit_header", real_commit)
    assert remaining(harness, workflow_id) == BRANCHES  # stamped, not counted

    decide_for(harness, tasks[0], redelivered=True)  # SQS hands the message out again
    assert remaining(harness, workflow_id) == BRANCHES - 1

    for task in tasks[1:]:
        finish(harness, task)
        decide_for(harness, task)
    loaded = harness.runtime.executions.load(workflow_id)
    assert loaded is not None
    join = next(t for t in loaded.tasks if t.reference_task_name == "join")
    assert join.status == TaskStatus.COMPLETED
    assert loaded.header.workflow.status.value == "COMPLETED"


def test_a_stamp_of_another_decide_makes_the_commit_fail_and_retry(harness: Harness):
    workflow_id = start(harness)
    first = leaves(harness, workflow_id)[0]
    finish(harness, first)
    store = harness.runtime.executions
    store._stamp(workflow_id, first.task_id, "someone-else")
    with pytest.raises(ConflictError):
        store._stamp(workflow_id, first.task_id, "me")
    store._stamp(workflow_id, first.task_id, "someone-else")  # its own stamp again: fine


def test_a_dynamically_forked_task_is_retried_per_its_registered_definition(harness: Harness):
    leaf = {"name": "leaf", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 30}
    assert harness.api("POST", "/api/metadata/taskdefs", [leaf]).status == 200
    workflow_id = start(harness)
    first = leaves(harness, workflow_id)[0]
    assert first.task_definition is not None and first.task_definition.retry_count == 1
    failed = ResultMessage(workflowInstanceId=workflow_id, taskId=first.task_id, status="FAILED")
    apply_result(harness.runtime, failed)
    decide_for(harness, first)
    attempts = [t for t in leaves(harness, workflow_id) if t.reference_task_name == first.reference_task_name]
    assert [(t.retry_count, t.status) for t in attempts] == [
        (0, TaskStatus.FAILED),
        (1, TaskStatus.SCHEDULED),
    ]
    assert harness.runtime.executions.load(workflow_id).header.workflow.status.value == "RUNNING"
