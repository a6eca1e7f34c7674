"""Hostile requests at every REST route: never a 5xx, every error in Conductor's error JSON, and a refused
request changes nothing stored.

The routes are read from the API's own resolver, so a route added later is attacked too. Path parameters,
query parameters and bodies come from hypothesis: wrong types, huge and deeply nested JSON, unknown
enums, path traversal, unicode, negative and enormous numbers, malformed JSON, and real ids of a stored
workflow and task so that requests get past the lookups into the deeper checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from batonflow.api.params import MAX_JSON_DEPTH
from tests.support.stack import Harness, moto_harness

FLOW = {
    "name": "hostile_flow",
    "version": 1,
    "tasks": [
        {"name": "hostile_task", "taskReferenceName": "work", "inputParameters": {"x": "${workflow.input.x}"}}
    ],
}
_PARAMETER = re.compile(r"<(\w+)>")
_QUERY_NAMES = [
    "count", "timeout", "version", "includeTasks", "includeClosed", "start", "size", "sort", "query",
    "freeText", "reason", "overwrite", "useLatestDefinitions", "resumeSubworkflowTasks", "workerid",
    "domain", "correlationId", "priority", "waitUntilTaskRef", "waitForSeconds", "archiveWorkflow",
]  # fmt: skip
_HOSTILE_TEXT = [
    "", " ", "..", "../../etc/passwd", "%2e%2e%2f", "a/b", "\\", "\x00", "null", "undefined", "-1", "0",
    "9" * 40, "-9" * 20, "1e309", "NaN", "true", "名前", "🎼", "x" * 3000, "' OR 1=1 --", "${workflow.input}",
    "COMPLETED", "IN_PROGRESS", "NOT_A_STATUS", "FAILED_WITH_TERMINAL_ERROR",
]  # fmt: skip

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(_HOSTILE_TEXT),
    st.text(max_size=30),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _deep(depth: int) -> str:
    """JSON nested ``depth`` levels deep, as text (Python's encoder would not go that deep)."""
    return '{"tasks":[' * depth + '"bottom"' + "]}" * depth


def _mutations() -> st.SearchStrategy[Any]:
    """A valid workflow def, task def or task result with one field replaced by something wrong."""
    valid = [
        FLOW,
        {"name": "hostile_task", "retryCount": 1, "timeoutPolicy": "TIME_OUT_WF"},
        {"workflowInstanceId": "?", "taskId": "?", "status": "COMPLETED", "outputData": {}},
        {"name": "hostile_flow", "input": {"x": 1}, "version": 1},
    ]
    return st.tuples(
        st.sampled_from(valid),
        st.text(min_size=1, max_size=20)
        | st.sampled_from(
            ["name", "version", "tasks", "status", "retryCount", "timeoutPolicy", "input", "taskId", "type"]
        ),
        _json,
    ).map(lambda parts: {**parts[0], parts[1]: parts[2]})


_bodies = st.one_of(
    _json,
    _mutations(),
    st.lists(_mutations(), max_size=3),
    st.integers(min_value=1, max_value=400_000).map(lambda size: {"input": {"blob": "x" * size}}),
)
_raw_bodies = st.sampled_from(
    ["{", "[1,2", "{'single': 'quotes'}", "\ufeff{}", "null", "\x00\x01", '{"a":1}{"b":2}']
) | st.integers(min_value=2, max_value=5000).map(_deep)


class Target:
    """The attacked stack, and a stored workflow's id and its task's: requests that use them get past the
    lookups. Not a dataclass: a failing example would print the harness, hundreds of KB of it."""

    def __init__(self, harness: Harness, known_ids: tuple[str, ...]) -> None:
        self.harness = harness
        self.known_ids = known_ids

    def __repr__(self) -> str:
        return f"Target(known_ids={self.known_ids!r})"


@pytest.fixture(scope="module")
def stack() -> Iterator[Target]:
    with pytest.MonkeyPatch.context() as patch, moto_harness(patch) as harness:
        assert harness.api("POST", "/api/metadata/workflow", FLOW).status == 200
        workflow_id = harness.api("POST", "/api/workflow/hostile_flow", {"x": 1}).text
        harness.pump()
        [task] = harness.api("GET", "/api/tasks/poll/batch/hostile_task?count=1&timeout=0").json()
        yield Target(harness, (workflow_id, task["taskId"]))


def routes(harness: Harness) -> list[tuple[str, str]]:
    app = harness.handlers["api"].app
    # Powertools keeps no public list of routes; these two attributes hold every registered one
    return sorted({(route.method, route.path) for route in [*app._static_routes, *app._dynamic_routes]})


def table_items(harness: Harness) -> list[dict]:
    table = str(harness.stack.resources["BatonTable"].ref)
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = harness.runtime.executions._client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


GATEWAY_NOT_FOUND = {"message": "Not Found"}
_KNOWN = ("<known workflow id>", "<known task id>")
"""Placeholders for the stored workflow's and task's ids, put in when the request is built."""
_path_values = st.sampled_from(_KNOWN) | st.sampled_from(_HOSTILE_TEXT) | st.text(min_size=1, max_size=20)
# Every example draws the same things in the same order, whatever route it lands on (the route is an index
# taken modulo the route count, path parameters use as many of the three values as they need): hypothesis
# wants the drawing not to depend on anything outside the strategy.
_requests = st.tuples(
    st.integers(min_value=0, max_value=10_000),
    st.lists(_path_values, min_size=3, max_size=3),
    st.dictionaries(st.sampled_from(_QUERY_NAMES), _scalars.map(str), max_size=3),
    st.one_of(_bodies.map(lambda body: (body, b"")), _raw_bodies.map(lambda raw: (None, raw.encode()))),
)


def build(target: Target, drawn: tuple) -> tuple[str, str, Any, bytes]:
    """The request an example describes: method, path with query, JSON body or raw bytes."""
    route, values, query, (json_body, raw) = drawn
    method, template = routes(target.harness)[route % len(routes(target.harness))]
    known = dict(zip(_KNOWN, target.known_ids, strict=True))
    fills = iter(values)

    def fill(match: re.Match[str]) -> str:
        value = next(fills)
        return quote(known.get(value, value), safe="")

    path = _PARAMETER.sub(fill, template)
    return method, f"{path}?{urlencode(query)}" if query else path, json_body, raw


# No shrinking or replay: the stack is shared and changed by the requests that succeed, so a failing
# example cannot be replayed against the same state; the failure is reported as drawn. How many examples,
# and whether they are the same every run, is the profile's (tests/conftest.py).
@settings(
    deadline=None,
    phases=[Phase.generate],
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=_requests)
# The failing example is reported as drawn even when a body is hundreds of KB
@pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")
def test_no_hostile_request_gets_a_5xx_and_a_refused_one_changes_nothing(stack: Target, drawn: tuple):
    method, target, json_body, raw = build(stack, drawn)
    harness = stack.harness
    before = table_items(harness)

    response = harness.api(method, target, json_body, body=raw)

    assert response.status < 500, (method, target, response.text[:500])
    if response.status >= 400:
        error = response.json()
        if error == GATEWAY_NOT_FOUND:
            # A path no route of the template matches (``/console/``: an empty file name) never reaches
            # Baton: API Gateway answers it, on AWS as here. ``/api/{proxy+}`` sends all of /api to Baton.
            assert response.status == 404 and not target.startswith("/api/"), (method, target)
            return
        assert error["status"] == response.status, error
        assert isinstance(error["message"], str) and error["message"], error
        assert isinstance(error.get("retryable", False), bool), error
        assert table_items(harness) == before, (method, target, response.status)
    harness.pump()


def test_every_route_is_attacked(stack: Target):
    """The attack covers the API as it is: this pins that routes are found at all."""
    found = routes(stack.harness)

    assert ("POST", "/api/workflow/<name>") in found and ("GET", "/api/tasks/poll/batch/<task_type>") in found
    assert len(found) >= 50


def test_body_encoding_of_the_attack_is_what_the_api_receives(stack: Target):
    """Raw bodies go out as sent: a malformed JSON body is a 400 with Conductor's error JSON."""
    response = stack.harness.api("POST", "/api/metadata/workflow", body=b"{")

    assert response.status == 400
    assert json.loads(response.text)["status"] == 400


def test_json_nested_past_the_limit_is_a_400_and_up_to_it_is_accepted(stack: Target):
    def nested(depth: int) -> str:
        return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)

    refused = stack.harness.api(
        "POST", "/api/workflow/hostile_flow", body=nested(MAX_JSON_DEPTH + 1).encode()
    )
    started = stack.harness.api("POST", "/api/workflow/hostile_flow", body=nested(MAX_JSON_DEPTH).encode())

    assert (refused.status, refused.json()["message"]) == (400, "The JSON body nests deeper than 100 levels")
    assert started.status == 200, started.text
