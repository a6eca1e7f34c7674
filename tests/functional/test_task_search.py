"""``GET /api/tasks/search`` and ``search-v2`` on moto: scoped to workflows, then their tasks filtered."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from batonflow.service import task_search
from tests.functional.test_workflow_lookups import register, start
from tests.support.stack import Harness

TASK_DEFS = [
    {"name": "charge", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 30},
    {"name": "ship", "retryCount": 0, "responseTimeoutSeconds": 30},
    {"name": "refund", "retryCount": 0, "responseTimeoutSeconds": 30},
]


def search(harness: Harness, path: str = "/api/tasks/search", **params: Any) -> dict[str, Any]:
    response = harness.api("GET", f"{path}?{urlencode(params)}")
    assert response.status == 200, response.text
    return response.json()


def ids(result: dict[str, Any]) -> list[str]:
    return [row["taskId"] for row in result["results"]]


def tasks_of(harness: Harness, workflow_id: str) -> list[dict[str, Any]]:
    response = harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=true")
    assert response.status == 200, response.text
    return response.json()["tasks"]


def update(harness: Harness, workflow_id: str, reference: str, status: str, worker: str) -> None:
    harness.clock.advance(1)
    target = f"/api/tasks/{workflow_id}/{reference}/{status}?workerid={worker}"
    assert harness.api("POST", target, {"done": status}).status == 200
    harness.pump()


@pytest.fixture
def shop(harness: Harness) -> dict[str, Any]:
    """Three ``orders`` (charge -> ship) and a ``refunds``, each step 1 ms apart:

    * o0 (cart-0): charge COMPLETED, ship SCHEDULED;
    * o1 (cart-1): charge FAILED by worker ``alice``, its retry SCHEDULED;
    * o2 (cart-0): charge SCHEDULED;  r0 (cart-0): refund SCHEDULED.
    """
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    register(
        harness,
        {
            "name": "orders",
            "version": 1,
            "tasks": [
                {"name": "charge", "taskReferenceName": "charge_ref"},
                {"name": "ship", "taskReferenceName": "ship_ref"},
            ],
        },
        {"name": "refunds", "version": 1, "tasks": [{"name": "refund", "taskReferenceName": "refund_ref"}]},
    )
    started = []
    for name, correlation_id in [
        ("orders", "cart-0"),
        ("orders", "cart-1"),
        ("orders", "cart-0"),
        ("refunds", "cart-0"),
    ]:
        started.append(start(harness, name, correlation_id=correlation_id))
        harness.pump()  # each first task is scheduled 1 ms after the one before
    o0, o1, o2, r0 = started
    update(harness, o0, "charge_ref", "COMPLETED", "bob")
    update(harness, o1, "charge_ref", "FAILED", "alice")
    tasks = {w: tasks_of(harness, w) for w in (o0, o1, o2, r0)}
    assert [t["status"] for t in tasks[o0]] == ["COMPLETED", "SCHEDULED"]
    assert [(t["status"], t["retryCount"]) for t in tasks[o1]] == [("FAILED", 0), ("SCHEDULED", 1)]
    return {
        "o0": o0,
        "o1": o1,
        "o2": o2,
        "r0": r0,
        "o0_charge": tasks[o0][0]["taskId"],
        "o0_ship": tasks[o0][1]["taskId"],
        "o1_failed": tasks[o1][0]["taskId"],
        "o1_retry": tasks[o1][1]["taskId"],
        "o2_charge": tasks[o2][0]["taskId"],
        "r0_refund": tasks[r0][0]["taskId"],
        "tasks": tasks,
    }


def test_type_and_task_status_lists_matching_summaries_newest_scheduled_first(
    harness: Harness, shop: dict[str, Any]
):
    result = search(harness, query="workflowType = 'orders' AND status = SCHEDULED")

    assert result["totalHits"] == 3
    assert ids(result) == [shop["o1_retry"], shop["o0_ship"], shop["o2_charge"]]
    row = result["results"][0]
    assert (row["workflowId"], row["workflowType"], row["correlationId"]) == (shop["o1"], "orders", "cart-1")
    assert (row["taskType"], row["taskDefName"], row["status"]) == ("charge", "charge", "SCHEDULED")
    assert row["scheduledTime"].endswith("Z") and row["input"] == "{}"  # summaries carry strings


def test_failed_attempts_and_worker_id(harness: Harness, shop: dict[str, Any]):
    failed = search(harness, query="workflowType = orders AND status IN (FAILED, TIMED_OUT)")
    by_worker = search(harness, query="workflowType IN (orders, refunds) AND workerId = alice")

    assert ids(failed) == [shop["o1_failed"]]
    assert failed["results"][0]["output"] == '{"done":"FAILED"}'
    assert ids(by_worker) == [shop["o1_failed"]]


def test_workflow_id_lists_every_attempt_as_full_tasks_in_v2(harness: Harness, shop: dict[str, Any]):
    result = search(
        harness, "/api/tasks/search-v2", query=f"workflowId = '{shop['o1']}'", sort="scheduledTime:ASC"
    )

    assert result["totalHits"] == 2
    assert result["results"] == shop["tasks"][shop["o1"]]  # the Task JSON GET /api/workflow/{id} shows


def test_task_id_clause_and_free_text(harness: Harness, shop: dict[str, Any]):
    by_clause = search(harness, "/api/tasks/search-v2", query=f"taskId IN ({shop['o0_ship']}, unknown)")
    by_task_text = search(harness, freeText=shop["o0_ship"])
    by_workflow_text = search(harness, freeText=shop["o2"])
    by_correlation_text = search(
        harness, freeText="cart-0", query="taskType = charge", sort="scheduledTime:ASC"
    )

    assert by_clause["totalHits"] == 1
    assert by_clause["results"][0] == harness.api("GET", f"/api/tasks/{shop['o0_ship']}").json()
    assert ids(by_task_text) == [shop["o0_ship"]]
    assert ids(by_workflow_text) == [shop["o2_charge"]]
    assert ids(by_correlation_text) == [shop["o0_charge"], shop["o2_charge"]]
    assert search(harness, freeText="nothing-like-this") == {"totalHits": 0, "results": []}


def test_correlation_id_with_task_filters(harness: Harness, shop: dict[str, Any]):
    result = search(
        harness, query="correlationId = cart-0 AND taskDefName = ship AND referenceTaskName = ship_ref"
    )

    assert ids(result) == [shop["o0_ship"]]


def test_start_time_is_the_workflows_start(harness: Harness, shop: dict[str, Any]):
    created = harness.api("GET", f"/api/workflow/{shop['o0']}?includeTasks=false").json()["createTime"]

    result = search(
        harness, query=f"workflowType = orders AND startTime > {created}", sort="scheduledTime:ASC"
    )

    assert ids(result) == [shop["o1_failed"], shop["o2_charge"], shop["o1_retry"]]


def test_start_and_size_page_through_the_sorted_tasks(harness: Harness, shop: dict[str, Any]):
    pages = [
        search(
            harness,
            query="workflowType IN (orders, refunds)",
            sort="scheduledTime:ASC",
            start=start,
            size=2,
        )
        for start in (0, 2, 4, 6)
    ]

    assert [ids(page) for page in pages] == [
        [shop["o0_charge"], shop["o1_failed"]],
        [shop["o2_charge"], shop["r0_refund"]],
        [shop["o0_ship"], shop["o1_retry"]],
        [],
    ]
    assert {page["totalHits"] for page in pages} == {6}


def test_a_scope_wider_than_the_bound_is_refused(
    harness: Harness, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(task_search, "MAX_WORKFLOWS", 2)

    wide = harness.api("GET", f"/api/tasks/search?{urlencode({'query': 'workflowType = orders'})}")
    narrowed = search(harness, query="workflowType = orders AND correlationId = cart-0")

    assert wide.status == 400
    assert "at most 2 workflows" in wide.json()["message"] and "matches 3" in wide.json()["message"]
    assert ids(narrowed) == [shop["o0_ship"], shop["o2_charge"], shop["o0_charge"]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "must be scoped"),
        ({"freeText": "*", "query": "status = FAILED AND startTime > 0"}, "must be scoped"),
        ({"query": "workflowType = orders", "size": 5001}, "size"),
        ({"query": "workflowType = orders", "start": -1}, "start"),
        ({"query": "workflowType = orders OR status = FAILED"}, "expected AND"),
        ({"query": "workflowType = orders AND status = RUNNING"}, "Unknown task status"),
        ({"query": "workflowType = orders", "sort": "taskId:ASC"}, "Unsupported sort"),
    ],
)
def test_unsupported_searches_are_refused(harness: Harness, params: dict[str, Any], message: str):
    for path in ("/api/tasks/search", "/api/tasks/search-v2"):
        response = harness.api("GET", f"{path}?{urlencode(params)}")

        assert response.status == 400, response.text
        body = response.json()
        assert message in body["message"]
        assert body["status"] == 400 and body["retryable"] is False
