"""Workflow search over HTTP on ``baton up``, with the query string conductor-python sends."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.helpers import HTTP_TIMEOUT_S, register, start, task, unique

pytestmark = pytest.mark.e2e


def test_search_finds_workflows_by_type_status_and_correlation_id(api: str):
    name = unique("search")
    register(api, {"name": name, "tasks": [task("only", name=f"{name}_a")]})
    first = start(api, name, {"n": 1})
    correlated = requests.post(
        f"{api}/workflow/{name}", params={"correlationId": f"{name}-c"}, json={"n": 2}, timeout=HTTP_TIMEOUT_S
    ).text
    stopped = start(api, name, {"n": 3})
    assert requests.delete(f"{api}/workflow/{stopped}", timeout=HTTP_TIMEOUT_S).status_code == 200

    # what WorkflowClient.search(start=0, size=10, free_text="*", query=...) sends (python-sdk-wire.md)
    everything = requests.get(
        f"{api}/workflow/search?queryId=&start=0&size=10&freeText=*&query=workflowType+%3D+%27{name}%27",
        timeout=HTTP_TIMEOUT_S,
    )
    running = requests.get(
        f"{api}/workflow/search-v2",
        params={"query": f"workflowType = {name} AND status IN (RUNNING, PAUSED)", "sort": "startTime:ASC"},
        timeout=HTTP_TIMEOUT_S,
    )
    by_correlation = requests.get(
        f"{api}/workflow/search", params={"freeText": f"{name}-c"}, timeout=HTTP_TIMEOUT_S
    )
    refused = requests.get(
        f"{api}/workflow/search", params={"query": f"workflowType = {name} OR status = RUNNING"}, timeout=10
    )

    assert everything.status_code == 200, everything.text
    rows = everything.json()["results"]
    assert everything.json()["totalHits"] == 3
    assert {(r["workflowId"], r["status"]) for r in rows} == {
        (first, "RUNNING"),
        (correlated, "RUNNING"),
        (stopped, "TERMINATED"),
    }
    assert [r["startTime"] for r in rows] == sorted((r["startTime"] for r in rows), reverse=True)
    found = running.json()["results"]
    assert {w["workflowId"]: w["input"] for w in found} == {first: {"n": 1}, correlated: {"n": 2}}
    assert [w["createTime"] for w in found] == sorted(w["createTime"] for w in found)
    assert [r["workflowId"] for r in by_correlation.json()["results"]] == [correlated]
    assert refused.status_code == 400
    assert "expected AND" in refused.json()["message"]
