"""The API function collapses repeated slashes in the path API Gateway hands it (python-sdk-wire.md §2)."""

from __future__ import annotations

import json
from typing import Any

from batonflow.emulator.gateway import HttpRequest, Route
from tests.support.stack import Harness, context

DEFINITION = {"name": "slashes", "tasks": [{"name": "a", "taskReferenceName": "a_ref"}]}


def invoke_with_raw_path(harness: Harness, method: str, raw_path: str, body: Any = None) -> dict[str, Any]:
    """Call the API handler with an HTTP API event whose path is exactly ``raw_path``."""
    route = Route(method="ANY", path="/api/{proxy+}", function="ApiFunction")
    request = HttpRequest.build(method, raw_path, json_body=body)
    event = harness.gateway.event_for(request, route, {"proxy": raw_path[len("/api/") :]}, request_id="r1")
    event["rawPath"] = raw_path
    event["requestContext"]["http"]["path"] = raw_path
    return harness.handlers["api"].handler(event, context("api"))


def test_a_doubled_slash_reaches_the_route(harness: Harness):
    """conductor-python with a base URL ending in ``/`` sends ``/api//...``: the route still matches."""
    assert harness.api("POST", "/api/metadata/workflow", DEFINITION).status == 200

    read = invoke_with_raw_path(harness, "GET", "/api//metadata/workflow//slashes")
    assert read["statusCode"] == 200, read["body"]
    assert (json.loads(read["body"])["name"], json.loads(read["body"])["version"]) == ("slashes", 1)

    started = invoke_with_raw_path(harness, "POST", "/api//workflow/slashes", {"k": 1})
    assert started["statusCode"] == 200, started["body"]
    workflow = harness.api("GET", f"/api/workflow/{started['body']}").json()
    assert (workflow["workflowName"], workflow["input"]) == ("slashes", {"k": 1})


def test_an_unknown_path_with_doubled_slashes_is_still_a_404(harness: Harness):
    missing = invoke_with_raw_path(harness, "GET", "/api//nothing//here")
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["message"] == "No route for GET /api/nothing/here"
