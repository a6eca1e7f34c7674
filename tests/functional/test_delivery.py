"""Every SQS message can arrive twice: each kind is delivered twice here, and nothing is done twice."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from batonflow.engine.decider import decide
from batonflow.engine.plan import Plan
from batonflow.engine.state import WorkflowState
from batonflow.model import StartWorkflowRequest
from batonflow.model.wire import ResultMessage, TimerKind, TimerMessage
from batonflow.service.executor import run_decide
from batonflow.service.tasks import apply_result
from batonflow.service.workflows import start_workflow
from batonflow.store.errors import ConflictError
from tests.support.stack import Harness

TWO_STEPS = {
    "name": "two_steps",
    "version": 1,
    "tasks": [
        {"name": "first", "taskReferenceName": "first"},
        {"name": "second", "taskReferenceName": "second"},
    ],
}

ONE_TASK = {"name": "one", "tasks": [{"name": "job", "taskReferenceName": "job_ref"}]}
TWO_TASKS = {
    "name": "two",
    "tasks": [{"name": "job", "taskReferenceName": "first"}, {"name": "job", "taskReferenceName": "second"}],
}


def start(harness: Harness, definition: dict) -> str:
    assert harness.api("POST", "/api/metadata/workflow?overwrite=true", definition).status == 200
    workflow_id = harness.api("POST", f"/api/workflow/{definition['name']}", {}).text
    harness.pump()
    return workflow_id


def tasks_of(harness: Harness, workflow_id: str) -> list[dict]:
    return harness.api("GET", f"/api/workflow/{workflow_id}").json()["tasks"]


def test_a_task_message_delivered_twice_is_leased_to_one_rest_worker_only(harness: Harness):
    start(harness, ONE_TASK)
    url = harness.runtime.queues.task_queue_url("job")
    [message] = harness.receive_all(url)
    harness.runtime.sqs.send_message(QueueUrl=url, MessageBody=message["Body"])  # the duplicate
    harness.runtime.sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )

    first = harness.api("GET", "/api/tasks/poll/batch/job?count=10&workerid=a").json()
    second = harness.api("GET", "/api/tasks/poll/batch/job?count=10&workerid=b").json()
    assert len(first) + len(second) == 1
    assert harness.receive_all(url) == []


def test_a_timer_delivered_twice_changes_nothing(harness: Harness):
    workflow_id = start(harness, ONE_TASK)
    before = tasks_of(harness, workflow_id)
    timer = TimerMessage(kind=TimerKind.WAKE, workflowId=workflow_id, dueAt=harness.clock.now)
    for _ in range(2):
        harness.runtime.sqs.send_message(
            QueueUrl=harness.queue_url("TimerQueue"), MessageBody=timer.to_json()
        )
    harness.pump()
    assert tasks_of(harness, workflow_id) == before


def test_a_delayed_dispatch_timer_delivered_twice_only_duplicates_the_queue_message(harness: Harness):
    workflow_id = start(harness, ONE_TASK)
    url = harness.runtime.queues.task_queue_url("job")
    [message] = harness.receive_all(url)
    harness.runtime.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    task = json.loads(message["Body"])
    timer = TimerMessage(kind=TimerKind.DISPATCH, workflowId=workflow_id, dueAt=harness.clock.now, task=task)
    for _ in range(2):
        harness.runtime.sqs.send_message(
            QueueUrl=harness.queue_url("TimerQueue"), MessageBody=timer.to_json()
        )
    harness.pump()
    leased = harness.api("GET", "/api/tasks/poll/batch/job?count=10").json()
    assert [t["taskId"] for t in leased] == [task["taskId"]]


def test_a_rest_result_sent_twice_answers_2xx_both_times_and_completes_once(harness: Harness):
    workflow_id = start(harness, TWO_TASKS)
    [task] = harness.api("GET", "/api/tasks/poll/batch/job?count=1").json()
    result = {
        "workflowInstanceId": workflow_id,
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "outputData": {"n": 1},
    }
    assert harness.api("POST", "/api/tasks", result).status == 200
    assert harness.api("POST", "/api/tasks", {**result, "outputData": {"n": 2}}).status == 200
    harness.pump()
    tasks = tasks_of(harness, workflow_id)
    assert [(t["referenceTaskName"], t["status"]) for t in tasks] == [
        ("first", "COMPLETED"),
        ("second", "SCHEDULED"),
    ]
    assert tasks[0]["outputData"] == {"n": 1}


def test_update_v2_hands_the_worker_its_next_task(harness: Harness):
    workflow_id = start(harness, TWO_TASKS)
    [task] = harness.api("GET", "/api/tasks/poll/batch/job?count=1&workerid=w").json()
    result = {
        "workflowInstanceId": workflow_id,
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "workerId": "w",
    }
    first = harness.api("POST", "/api/tasks/update-v2", result)
    assert first.status == 200  # the update decided the workflow: its next task, leased to the caller
    second = first.json()
    assert second["referenceTaskName"] == "second" and second["status"] == "IN_PROGRESS"
    assert second["workerId"] == "w"
    done = {**result, "taskId": second["taskId"]}
    assert harness.api("POST", "/api/tasks/update-v2", done).status == 204  # nothing left
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "COMPLETED"


def test_update_v2_returns_a_queued_task_of_the_same_type_leased_to_the_caller(harness: Harness):
    first_workflow = start(harness, ONE_TASK)
    second_workflow = start(harness, ONE_TASK)
    [task] = harness.api("GET", "/api/tasks/poll/batch/job?count=1&workerid=w").json()
    result = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "workerId": "w",
    }
    response = harness.api("POST", "/api/tasks/update-v2", result)
    assert response.status == 200
    following = response.json()
    assert following["status"] == "IN_PROGRESS" and following["workerId"] == "w"
    assert {task["workflowInstanceId"], following["workflowInstanceId"]} == {first_workflow, second_workflow}


def test_lease_extension_only_moves_the_response_deadline(harness: Harness):
    definition = {**ONE_TASK, "name": "leased"}
    harness.api(
        "POST", "/api/metadata/taskdefs", [{"name": "job", "responseTimeoutSeconds": 10, "retryCount": 0}]
    )
    workflow_id = start(harness, definition)
    [task] = harness.api("GET", "/api/tasks/poll/batch/job?count=1&workerid=w").json()
    url = harness.runtime.queues.task_queue_url("job")

    harness.clock.advance(8)
    heartbeat = {
        "workflowInstanceId": workflow_id,
        "taskId": task["taskId"],
        "status": "IN_PROGRESS",
        "extendLease": True,
    }
    assert harness.api("POST", "/api/tasks", heartbeat).status == 200
    harness.clock.advance(8)  # 16 s after the poll, 8 s after the heartbeat
    harness.runtime.queues.wake_workflows([workflow_id], "timer")
    harness.pump()

    [current] = tasks_of(harness, workflow_id)
    assert current["status"] == "IN_PROGRESS" and current["outputData"] == {}
    assert harness.receive_all(url) == []  # not re-queued
    harness.clock.advance(3)
    harness.runtime.queues.wake_workflows([workflow_id], "timer")
    harness.pump()
    assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "TIMED_OUT"


def test_tasks_without_a_registered_definition_get_conductors_defaults(harness: Harness):
    workflow_id = start(
        harness, {"name": "adhoc", "tasks": [{"name": "unregistered", "taskReferenceName": "u"}]}
    )
    [task] = tasks_of(harness, workflow_id)
    assert task["responseTimeoutSeconds"] == 3600
    definition = task["workflowTask"]["taskDefinition"]
    assert (definition["retryCount"], definition["retryDelaySeconds"], definition["timeoutPolicy"]) == (
        3,
        60,
        "TIME_OUT_WF",
    )


def test_a_repeated_idempotency_key_does_not_start_a_second_workflow(harness: Harness):
    harness.api("POST", "/api/metadata/workflow", ONE_TASK)
    request = {
        "name": "one",
        "input": {},
        "idempotencyKey": "order-42",
        "idempotencyStrategy": "RETURN_EXISTING",
    }
    first = harness.api("POST", "/api/workflow", request).text
    assert harness.api("POST", "/api/workflow", request).text == first
    conflict = harness.api("POST", "/api/workflow", {**request, "idempotencyStrategy": "FAIL"})
    assert conflict.status == 409
    other = harness.api("POST", "/api/workflow", {"name": "one", "input": {}}).text
    assert other != first


def test_a_task_written_by_a_decide_that_lost_its_commit_is_sent_by_the_next_decide(harness: Harness):
    assert harness.api("POST", "/api/metadata/workflow", TWO_STEPS).status == 200
    workflow_id = harness.api("POST", "/api/workflow/two_steps", {}).text
    harness.pump()
    [first] = harness.api("GET", "/api/tasks/poll/batch/first?count=1&timeout=0").json()
    # applied alone: the REST update would decide at once, where this test races two decides
    apply_result(
        harness.runtime,
        ResultMessage(workflowInstanceId=workflow_id, taskId=first["taskId"], status="COMPLETED"),
    )
    store = harness.runtime.executions
    loaded = store.load(workflow_id)
    assert loaded is not None
    state = WorkflowState(workflow=loaded.workflow, last_seq=loaded.header.last_seq)
    racing = decide(state, harness.clock.now)
    assert [t.reference_task_name for t in racing.new_tasks] == ["second"]
    store.commit(loaded, Plan(), harness.clock.now, [])  # another writer commits first
    with pytest.raises(ConflictError):  # the racing decide wrote its task item, then lost
        store.commit(loaded, racing, harness.clock.now, [])

    run_decide(harness.runtime, workflow_id)
    [sent] = harness.api("GET", "/api/tasks/poll/batch/second?count=1&timeout=0").json()
    assert sent["taskId"] == racing.new_tasks[0].task_id


def test_a_plan_that_lost_its_commit_takes_its_tasks_back_so_a_later_run_never_shows_them(harness: Harness):
    assert harness.api("POST", "/api/metadata/workflow", ONE_TASK).status == 200
    workflow_id = harness.start_by_the_decider("one", {})
    store = harness.runtime.executions
    commit_header = store._commit_header
    raced: list[bool] = []

    def terminated_meanwhile(*args: object) -> None:
        if not raced:  # the first decide wrote its task; a terminate commits before its header does
            raced.append(True)
            assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop").status == 200
        commit_header(*args)

    with pytest.MonkeyPatch.context() as race:
        race.setattr(store, "_commit_header", terminated_meanwhile)
        harness.pump("decider")
    assert raced and tasks_of(harness, workflow_id) == []

    v2 = {**ONE_TASK, "version": 2, "tasks": [{"name": "job_v2", "taskReferenceName": "job_v2"}]}
    assert harness.api("POST", "/api/metadata/workflow", v2).status == 200
    restart = harness.api("POST", f"/api/workflow/{workflow_id}/restart?useLatestDefinitions=true")
    assert restart.status == 204
    harness.pump()
    assert [t["referenceTaskName"] for t in tasks_of(harness, workflow_id)] == ["job_v2"]


def test_a_reader_never_sees_a_decide_half_written(harness: Harness):
    """A timed-out attempt's retry is written before the timed-out attempt and the header: a GET between
    those writes shows neither, never the retry next to an attempt still IN_PROGRESS."""
    retried = {"name": "job", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 1}
    assert harness.api("POST", "/api/metadata/taskdefs", [retried]).status == 200
    workflow_id = start(harness, ONE_TASK)
    [polled] = harness.api("GET", "/api/tasks/poll/batch/job?count=1&timeout=0").json()
    store = harness.runtime.executions
    update_task = store._update_task
    seen: list[list[tuple[str, int]]] = []

    def read_first(*args: object, **kwargs: object) -> None:
        seen.append([(t["status"], t["retryCount"]) for t in tasks_of(harness, workflow_id)])
        update_task(*args, **kwargs)

    harness.clock.advance(2)
    with pytest.MonkeyPatch.context() as race:
        race.setattr(store, "_update_task", read_first)
        run_decide(harness.runtime, workflow_id)
    assert seen == [[("IN_PROGRESS", 0)]]
    final = [(t["taskId"] == polled["taskId"], t["status"]) for t in tasks_of(harness, workflow_id)]
    assert final == [(True, "TIMED_OUT"), (False, "SCHEDULED")]


def test_a_task_both_racing_commits_wrote_stays_with_the_winner(harness: Harness):
    assert harness.api("POST", "/api/metadata/workflow", ONE_TASK).status == 200
    workflow_id = harness.start_by_the_decider("one", {})
    store = harness.runtime.executions
    loaded = store.load(workflow_id)
    assert loaded is not None
    plan = decide(WorkflowState(workflow=loaded.workflow, last_seq=loaded.header.last_seq), harness.clock.now)
    [task] = plan.new_tasks
    commit_header = store._commit_header

    def winner_first(*args: object) -> None:  # the loser wrote the item first; the winner commits first
        store._commit_header = commit_header
        store.commit(loaded, plan, harness.clock.now, [], token="winner")
        commit_header(*args)

    store._commit_header = winner_first
    with pytest.raises(ConflictError):
        store.commit(loaded, plan, harness.clock.now, [], token="loser")

    assert [t["taskId"] for t in tasks_of(harness, workflow_id)] == [task.task_id]


def test_concurrent_starts_with_one_idempotency_key_race_to_one_workflow(harness: Harness):
    harness.api("POST", "/api/metadata/workflow", ONE_TASK)
    request = StartWorkflowRequest(
        name="one", input={}, idempotency_key="order-7", idempotency_strategy="RETURN_EXISTING"
    )
    gate = Barrier(8)

    def start(_: int) -> str:
        gate.wait()
        return start_workflow(harness.runtime, request)

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(start, range(8)))
    assert len(ids) == 1
    harness.pump()
    [workflow_id] = ids
    execution = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert execution["status"] == "RUNNING" and len(execution["tasks"]) == 1
    assert harness.api("GET", "/api/workflow/running/one").json() == [workflow_id]
