"""``GET /api/workflow/search`` and ``search-v2`` on moto, served by the table's GSIs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.functional.test_workflow_lookups import definition, register, start
from tests.support.stack import Harness


def search(harness: Harness, path: str = "/api/workflow/search", **params: Any) -> dict[str, Any]:
    response = harness.api("GET", f"{path}?{urlencode(params)}")
    assert response.status == 200, response.text
    return response.json()


def ids(result: dict[str, Any]) -> list[str]:
    return [row["workflowId"] for row in result["results"]]


@pytest.fixture
def fleet(harness: Harness) -> dict[str, list[str]]:
    """12 ``orders`` (3 terminated, 2 paused), 3 ``refunds`` (1 terminated), each step 1 ms apart."""
    register(harness, definition("orders"), definition("refunds"))
    orders = [start(harness, "orders", correlation_id=f"cart-{i % 3}") for i in range(12)]
    refunds = [start(harness, "refunds", correlation_id="cart-0") for _ in range(3)]
    harness.pump()
    for workflow_id in (orders[1], orders[4], orders[7], refunds[2]):
        harness.clock.advance(1)
        assert harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=stop", {}).status == 200
    for workflow_id in (orders[2], orders[5]):
        harness.clock.advance(1)
        assert harness.api("PUT", f"/api/workflow/{workflow_id}/pause", {}).status == 200
    return {"orders": orders, "refunds": refunds}


def test_type_and_status_lists_matching_summaries_newest_first(harness: Harness, fleet: dict[str, list[str]]):
    orders = fleet["orders"]

    result = search(harness, query="workflowType = 'orders' AND status = TERMINATED")

    assert result["totalHits"] == 3
    assert ids(result) == [orders[7], orders[4], orders[1]]
    row = result["results"][0]
    assert (row["workflowType"], row["version"], row["status"]) == ("orders", 1, "TERMINATED")
    assert row["reasonForIncompletion"] == "stop"
    assert row["correlationId"] == "cart-1"
    assert row["input"] == "{}"  # summaries carry JSON strings
    assert row["startTime"].endswith("Z")


def test_type_in_and_status_in(harness: Harness, fleet: dict[str, list[str]]):
    orders, refunds = fleet["orders"], fleet["refunds"]

    result = search(
        harness,
        query="workflowType IN (orders, refunds) AND status IN (PAUSED, TERMINATED)",
        sort="startTime:ASC",
    )

    assert ids(result) == [orders[1], orders[2], orders[4], orders[5], orders[7], refunds[2]]
    assert result["totalHits"] == 6


def test_status_alone_spans_every_workflow_type(harness: Harness, fleet: dict[str, list[str]]):
    orders, refunds = fleet["orders"], fleet["refunds"]
    running = [w for w in orders if w not in {orders[1], orders[2], orders[4], orders[5], orders[7]}]

    result = search(harness, query="status = RUNNING", sort="startTime:ASC")

    assert ids(result) == [*running, refunds[0], refunds[1]]
    assert result["totalHits"] == 9
    assert {row["status"] for row in result["results"]} == {"RUNNING"}


def test_type_alone_lists_every_status(harness: Harness, fleet: dict[str, list[str]]):
    result = search(harness, query="workflowType = refunds", sort="startTime:ASC")

    assert ids(result) == fleet["refunds"]
    assert [row["status"] for row in result["results"]] == ["RUNNING", "RUNNING", "TERMINATED"]


def test_everything_when_there_is_no_query(harness: Harness, fleet: dict[str, list[str]]):
    result = search(harness, freeText="*", queryId="", start=0, size=100)

    assert result["totalHits"] == 15
    assert ids(result) == list(reversed([*fleet["orders"], *fleet["refunds"]]))


def test_correlation_id_with_and_without_type(harness: Harness, fleet: dict[str, list[str]]):
    orders, refunds = fleet["orders"], fleet["refunds"]

    everything = search(harness, query="correlationId = 'cart-0'", sort="startTime:ASC")
    of_orders = search(harness, query="correlationId = cart-0 AND workflowType = orders AND status = RUNNING")

    assert ids(everything) == [orders[0], orders[3], orders[6], orders[9], *refunds]
    assert ids(of_orders) == [orders[9], orders[6], orders[3], orders[0]]
    assert of_orders["totalHits"] == 4


def test_start_time_window(harness: Harness, fleet: dict[str, list[str]]):
    orders = fleet["orders"]
    workflows = {w: get_create_time(harness, w) for w in orders}
    low, high = workflows[orders[3]], workflows[orders[6]]

    by_type = search(
        harness,
        query=f"workflowType = orders AND startTime > {low} AND startTime <= {high}",
        sort="startTime:ASC",
    )
    by_status = search(harness, query=f"status = RUNNING AND startTime >= {low} AND startTime < {high}")
    empty = search(harness, query=f"startTime > {high} AND startTime < {low}")

    assert ids(by_type) == [orders[4], orders[5], orders[6]]
    assert ids(by_status) == [orders[3]]  # 4 and 5 are not running, 6 is past the window
    assert empty == {"totalHits": 0, "results": []}


def get_create_time(harness: Harness, workflow_id: str) -> int:
    response = harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=false")
    assert response.status == 200, response.text
    return response.json()["createTime"]


def test_sort_by_update_time(harness: Harness, fleet: dict[str, list[str]]):
    orders = fleet["orders"]
    harness.clock.advance(1000)
    assert harness.api("PUT", f"/api/workflow/{orders[0]}/pause", {}).status == 200

    newest_update = search(harness, query="workflowType = orders AND status = PAUSED", sort="updateTime:DESC")
    oldest_start = search(harness, query="workflowType = orders AND status = PAUSED", sort="startTime:ASC")

    assert ids(newest_update) == [orders[0], orders[5], orders[2]]
    assert ids(oldest_start) == [orders[0], orders[2], orders[5]]


def test_start_and_size_page_through_the_merged_shards(harness: Harness, fleet: dict[str, list[str]]):
    orders = fleet["orders"]
    pages = [
        search(harness, query="workflowType = orders", sort="startTime:ASC", start=start, size=5)
        for start in (0, 5, 10, 15)
    ]

    assert [ids(page) for page in pages] == [orders[0:5], orders[5:10], orders[10:12], []]
    assert {page["totalHits"] for page in pages} == {12}


def test_free_text_matches_a_workflow_id_or_a_correlation_id(harness: Harness, fleet: dict[str, list[str]]):
    orders, refunds = fleet["orders"], fleet["refunds"]

    by_id = search(harness, freeText=refunds[1])
    by_correlation = search(harness, freeText="cart-2", sort="startTime:ASC")
    narrowed = search(harness, freeText="cart-0", query="workflowType = refunds AND status = TERMINATED")

    assert ids(by_id) == [refunds[1]] and by_id["totalHits"] == 1
    assert ids(by_correlation) == [orders[2], orders[5], orders[8], orders[11]]
    assert ids(narrowed) == [refunds[2]]
    assert search(harness, freeText="nothing-like-this") == {"totalHits": 0, "results": []}


def test_search_v2_answers_whole_workflows(harness: Harness, fleet: dict[str, list[str]]):
    result = search(
        harness, "/api/workflow/search-v2", query="workflowType = refunds AND status = TERMINATED"
    )

    assert result["totalHits"] == 1
    workflow = result["results"][0]
    assert workflow["workflowId"] == fleet["refunds"][2]
    assert workflow["workflowName"] == "refunds" and workflow["status"] == "TERMINATED"
    assert isinstance(workflow["createTime"], int) and workflow["input"] == {}


def test_removed_workflows_are_not_found(harness: Harness, fleet: dict[str, list[str]]):
    removed = fleet["refunds"][0]
    assert harness.api("DELETE", f"/api/workflow/{removed}/remove", {}).status == 200

    assert ids(search(harness, query="workflowType = refunds", sort="startTime:ASC")) == fleet["refunds"][1:]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": "workflowType = a OR status = RUNNING"}, "expected AND"),
        ({"query": "input.x = 1"}, "Unsupported search clause"),
        ({"query": "status = SLEEPING"}, "Unknown workflow status"),
        ({"query": "status IN (RUNNING"}, "IN"),
        ({"query": "startTime > yesterday"}, "Invalid startTime"),
        ({"sort": "workflowId:DESC"}, "Unsupported sort"),
        ({"size": 5001}, "size"),
        ({"start": -1}, "start"),
    ],
)
def test_unsupported_searches_are_refused(harness: Harness, params: dict[str, Any], message: str):
    response = harness.api("GET", f"/api/workflow/search?{urlencode(params)}")

    assert response.status == 400
    assert message in response.json()["message"]
