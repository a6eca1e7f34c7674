"""``GET /api/workflow/running/{name}`` and ``GET /api/workflow/{name}/correlated/{correlationId}`` on moto,
served by the table's GSIs."""

from __future__ import annotations

from typing import Any

from tests.support.stack import Harness


def definition(name: str, version: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "tasks": [{"name": f"{name}_work", "taskReferenceName": "work"}],
    }


def register(harness: Harness, *definitions: dict[str, Any]) -> None:
    assert harness.api("PUT", "/api/metadata/workflow", list(definitions)).status == 200


def start(
    harness: Harness, name: str, *, version: int | None = None, correlation_id: str | None = None
) -> str:
    harness.clock.advance(1)
    body: dict[str, Any] = {"name": name, "input": {}}
    if version is not None:
        body["version"] = version
    if correlation_id is not None:
        body["correlationId"] = correlation_id
    response = harness.api("POST", "/api/workflow", body)
    assert response.status == 200, response.text
    return response.text


def get(harness: Harness, target: str) -> Any:
    response = harness.api("GET", target)
    assert response.status == 200, response.text
    return response.json()


def test_running_lists_pending_workflows_of_a_name_and_version_oldest_first(harness: Harness):
    register(harness, definition("orders"), definition("orders", 2), definition("refunds"))
    v1 = [start(harness, "orders", version=1) for _ in range(12)]  # more than one per name shard
    v2 = start(harness, "orders", version=2)
    start(harness, "refunds")
    harness.pump()
    paused, terminated = v1[3], v1[5]
    assert harness.api("PUT", f"/api/workflow/{paused}/pause", {}).status == 200
    assert harness.api("DELETE", f"/api/workflow/{terminated}", {}).status == 200

    assert get(harness, "/api/workflow/running/orders") == [w for w in v1 if w != terminated]
    assert get(harness, "/api/workflow/running/orders?version=2") == [v2]
    assert get(harness, "/api/workflow/running/unknown") == []


def test_running_with_a_time_window_lists_every_workflow_created_in_it(harness: Harness):
    register(harness, definition("orders"))
    before = start(harness, "orders")
    window_start = harness.clock.advance(10)
    inside = [start(harness, "orders") for _ in range(3)]
    window_end = harness.clock.now
    start(harness, "orders")
    assert harness.api("DELETE", f"/api/workflow/{inside[0]}", {}).status == 200

    listed = get(harness, f"/api/workflow/running/orders?startTime={window_start}&endTime={window_end}")

    assert listed == inside
    assert before not in listed


def test_running_is_a_literal_path_and_wins_over_a_workflow_id(harness: Harness):
    register(harness, definition("status"))
    workflow_id = start(harness, "status")

    assert get(harness, "/api/workflow/running/status") == [workflow_id]


def test_correlated_lists_running_workflows_unless_closed_ones_are_asked_for(harness: Harness):
    register(harness, definition("orders"), definition("refunds"))
    first = start(harness, "orders", correlation_id="cart-1")
    second = start(harness, "orders", correlation_id="cart-1")
    paused = start(harness, "orders", correlation_id="cart-1")
    start(harness, "orders", correlation_id="cart-2")
    start(harness, "refunds", correlation_id="cart-1")
    harness.pump()
    assert harness.api("DELETE", f"/api/workflow/{first}?reason=done", {}).status == 200
    assert harness.api("PUT", f"/api/workflow/{paused}/pause", {}).status == 200

    running = get(harness, "/api/workflow/orders/correlated/cart-1")
    assert [w["workflowId"] for w in running] == [second]
    assert running[0]["correlationId"] == "cart-1" and running[0]["tasks"] == []

    closed = get(harness, "/api/workflow/orders/correlated/cart-1?includeClosed=true&includeTasks=true")
    assert [(w["workflowId"], w["status"]) for w in closed] == [
        (first, "TERMINATED"),
        (second, "RUNNING"),
        (paused, "PAUSED"),
    ]
    assert [t["referenceTaskName"] for t in closed[1]["tasks"]] == ["work"]
    assert get(harness, "/api/workflow/orders/correlated/cart-9") == []


def test_an_empty_correlation_id_is_stored_but_not_indexed(harness: Harness):
    register(harness, definition("orders"))
    workflow_id = start(harness, "orders", correlation_id="")

    assert get(harness, f"/api/workflow/{workflow_id}")["status"] == "RUNNING"
    assert get(harness, "/api/workflow/running/orders") == [workflow_id]


def test_correlated_batch_answers_per_correlation_id(harness: Harness):
    register(harness, definition("orders"))
    first = start(harness, "orders", correlation_id="cart-1")
    second = start(harness, "orders", correlation_id="cart-2")
    assert harness.api("DELETE", f"/api/workflow/{second}", {}).status == 200

    running = harness.api("POST", "/api/workflow/orders/correlated", ["cart-1", "cart-2", "cart-9"])
    closed = harness.api("POST", "/api/workflow/orders/correlated?includeClosed=True", ["cart-2"])

    assert {c: [w["workflowId"] for w in ws] for c, ws in running.json().items()} == {
        "cart-1": [first],
        "cart-2": [],
        "cart-9": [],
    }
    assert [w["status"] for w in closed.json()["cart-2"]] == ["TERMINATED"]
    assert harness.api("POST", "/api/workflow/orders/correlated", {"cart": 1}).status == 400
