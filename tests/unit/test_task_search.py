"""Task search's pure parts: the query (scope and filters), the sort and the TaskSummary row."""

from __future__ import annotations

import json

import pytest

from batonflow.errors import BadRequestError
from batonflow.model import Task, TaskStatus, TaskSummary, Workflow
from batonflow.service.task_search import DEFAULT_SORT, TaskQuery, parse_query, parse_sort, sort_tasks


def a_task(task_id: str = "t1", **fields: object) -> Task:
    values: dict[str, object] = {
        "task_id": task_id,
        "workflow_instance_id": "w1",
        "task_type": "SIMPLE",
        "task_def_name": "charge",
        "reference_task_name": "charge_ref",
        "status": TaskStatus.COMPLETED,
        "worker_id": "worker-1",
    }
    values.update(fields)
    return Task(**values)


ORDERS = Workflow(workflow_id="w1", workflow_name="orders", correlation_id="cart-1", create_time=1000)


def test_an_empty_query_is_not_scoped() -> None:
    assert parse_query(None) == TaskQuery()
    assert not parse_query("").scoped
    assert not parse_query("status = FAILED AND taskType = SIMPLE AND startTime > 5").scoped


@pytest.mark.parametrize(
    "query",
    ["workflowId = w1", "taskId IN (t1, t2)", "workflowType = 'orders'", "correlationId = cart-1"],
)
def test_workflow_and_task_ids_types_and_correlation_ids_scope_a_search(query: str) -> None:
    assert parse_query(query).scoped


def test_task_and_workflow_clauses_are_parsed_apart() -> None:
    parsed = parse_query(
        "workflowType = orders AND status IN (FAILED, 'TIMED_OUT') AND taskDefName = charge "
        "AND referenceTaskName = charge_ref AND workerId = worker-1 AND taskType = SIMPLE "
        "AND correlationId IN (cart-1) AND startTime >= 1000 AND workflowId = w1 AND taskId = t1"
    )

    assert parsed.workflows.workflow_types == {"orders"}
    assert parsed.workflows.correlation_ids == {"cart-1"}
    assert parsed.workflows.created == (1000, None)
    assert parsed.workflows.statuses is None  # status is the task's here
    assert parsed.statuses == {TaskStatus.FAILED, TaskStatus.TIMED_OUT}
    assert (parsed.task_def_names, parsed.references, parsed.worker_ids) == (
        {"charge"},
        {"charge_ref"},
        {"worker-1"},
    )
    assert (parsed.task_types, parsed.workflow_ids, parsed.task_ids) == ({"SIMPLE"}, {"w1"}, {"t1"})


def test_a_field_given_twice_must_match_both_times() -> None:
    assert parse_query("taskType IN (A, B) AND taskType IN (B, C)").task_types == {"B"}


def test_matches_checks_the_task_and_its_workflow() -> None:
    parsed = parse_query(
        "workflowType = orders AND status = COMPLETED AND startTime >= 1000 AND taskType = SIMPLE"
    )
    task = a_task()

    assert parsed.matches(ORDERS, task)
    assert not parsed.matches(ORDERS, task.model_copy(update={"status": TaskStatus.FAILED}))
    assert not parsed.matches(ORDERS, task.model_copy(update={"task_type": "HTTP"}))
    assert not parsed.matches(ORDERS.model_copy(update={"workflow_name": "refunds"}), task)
    assert not parsed.matches(ORDERS.model_copy(update={"create_time": 999}), task)


@pytest.mark.parametrize(
    ("field", "value", "other"),
    [
        ("workflowId", "w1", {"workflow_instance_id": "w2"}),
        ("taskId", "t1", {"task_id": "t2"}),
        ("taskDefName", "charge", {"task_def_name": "refund"}),
        ("referenceTaskName", "charge_ref", {"reference_task_name": "other_ref"}),
        ("workerId", "worker-1", {"worker_id": "worker-2"}),
    ],
)
def test_each_task_clause_filters(field: str, value: str, other: dict[str, object]) -> None:
    parsed = parse_query(f"{field} = '{value}'")

    assert parsed.matches(ORDERS, a_task())
    assert not parsed.matches(ORDERS, a_task(**other))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status = SLEEPING", "Unknown task status"),
        ("status = RUNNING", "Unknown task status"),  # a workflow status, not a task status
        ("workflowType > a", "Unsupported task search clause"),
        ("startTime = 5", "Unsupported task search clause"),
        ("taskId != t1", "Unsupported task search clause"),
        ("outputData.x = 1", "Unsupported task search clause"),
        ("taskType = A OR taskType = B", "expected AND"),
        ("taskType =", "incomplete clause"),
        ("taskId IN t1", "parentheses"),
        ("startTime > yesterday", "Invalid startTime"),
    ],
)
def test_unsupported_queries_are_refused(query: str, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        parse_query(query)


def test_sort_fields_and_default() -> None:
    assert parse_sort(None) == DEFAULT_SORT == (("scheduledTime", False),)
    assert parse_sort("endTime:ASC|updateTime:DESC") == (("endTime", True), ("updateTime", False))
    with pytest.raises(BadRequestError, match="scheduledTime or startTime or updateTime or endTime"):
        parse_sort("taskId:ASC")


def test_sort_tasks_by_keys_then_workflow_and_scheduling_order() -> None:
    tasks = [
        a_task("a", workflow_instance_id="w2", seq=1, scheduled_time=10, end_time=30),
        a_task("b", workflow_instance_id="w1", seq=2, scheduled_time=10, end_time=20),
        a_task("c", workflow_instance_id="w1", seq=1, scheduled_time=5, end_time=30),
    ]

    def ids(sort: tuple[tuple[str, bool], ...]) -> list[str | None]:
        return [t.task_id for t in sort_tasks(tasks, sort)]

    assert ids(DEFAULT_SORT) == ["b", "a", "c"]  # ties keep workflow then seq order
    assert ids((("scheduledTime", True),)) == ["c", "b", "a"]
    assert ids((("endTime", False), ("scheduledTime", True))) == ["c", "a", "b"]


def test_task_summary_fields_follow_conductor() -> None:
    task = a_task(
        workflow_type="orders",
        correlation_id="cart-1",
        scheduled_time=1_700_000_000_000,
        start_time=1_700_000_000_250,
        update_time=1_700_000_001_000,
        end_time=1_700_000_001_500,
        status=TaskStatus.FAILED,
        reason_for_incompletion="declined",
        input_data={"amount": 5},
        output_data={"error": None},
        workflow_priority=7,
        domain="eu",
    )

    summary = TaskSummary.from_task(task).to_conductor()

    assert summary["scheduledTime"] == "2023-11-14T22:13:20.000Z"
    assert summary["startTime"] == "2023-11-14T22:13:20.250Z"
    assert summary["updateTime"] == "2023-11-14T22:13:21.000Z"
    assert summary["endTime"] == "2023-11-14T22:13:21.500Z"
    assert (summary["executionTime"], summary["queueWaitTime"]) == (1250, 250)
    assert (summary["workflowId"], summary["workflowType"], summary["correlationId"]) == (
        "w1",
        "orders",
        "cart-1",
    )
    assert (summary["taskId"], summary["taskDefName"], summary["taskType"]) == ("t1", "charge", "SIMPLE")
    assert (summary["status"], summary["reasonForIncompletion"]) == ("FAILED", "declined")
    assert json.loads(summary["input"]) == {"amount": 5}
    assert json.loads(summary["output"]) == {"error": None}
    assert (summary["workflowPriority"], summary["domain"]) == (7, "eu")
    assert "externalInputPayloadStoragePath" not in summary


def test_task_summary_of_a_task_not_started_formats_zero_times_as_java_does() -> None:
    summary = TaskSummary.from_task(a_task(status=TaskStatus.SCHEDULED, scheduled_time=1)).to_conductor()

    assert summary["startTime"] == summary["endTime"] == "1970-01-01T00:00:00.000Z"
    assert (summary["executionTime"], summary["queueWaitTime"]) == (0, 0)
