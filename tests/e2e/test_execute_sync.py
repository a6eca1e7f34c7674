"""Synchronous execute over HTTP on ``baton up``: the answer is the finished run (a workflow of system
tasks here; one with a REST worker polling the same API is in ``test_api_concurrency.py``)."""

from __future__ import annotations

import requests

from tests.e2e.helpers import HTTP_TIMEOUT_S, inline, register, unique


def test_execute_answers_the_completed_run(api: str):
    prefix = unique("exec")
    register(
        api,
        {
            "name": prefix,
            "tasks": [
                inline("double", "$.n * 2", n="${workflow.input.n}"),
                inline("plus", "$.x + 1", x="${double.output.result}"),
            ],
        },
    )
    response = requests.post(
        f"{api}/workflow/execute/{prefix}/1?requestId=abc&waitUntilTaskRef=None&waitForSeconds=20",
        json={"input": {"n": 4}},
        timeout=HTTP_TIMEOUT_S * 3,
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["requestId"], run["output"]) == ("COMPLETED", "abc", {"result": 9})
    assert [t["referenceTaskName"] for t in run["tasks"]] == ["double", "plus"]
