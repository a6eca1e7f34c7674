"""A signal over HTTP on ``baton up`` completes the WAIT that blocks a workflow."""

from __future__ import annotations

import time

import requests

from tests.e2e.helpers import (
    HTTP_TIMEOUT_S,
    TIMEOUT_S,
    get_workflow,
    register,
    start,
    task,
    unique,
    wait_for_terminal,
)


def test_a_signal_releases_a_waiting_workflow(api: str):
    name = unique("signal")
    register(
        api, {"name": name, "tasks": [task("gate", "WAIT")], "outputParameters": {"by": "${gate.output.by}"}}
    )
    workflow_id = start(api, name, {})
    deadline = time.monotonic() + TIMEOUT_S
    while not get_workflow(api, workflow_id)["tasks"]:  # the first decide runs right after the start
        assert time.monotonic() < deadline, "the WAIT was never scheduled"
        time.sleep(0.05)
    response = requests.post(
        f"{api}/tasks/{workflow_id}/COMPLETED/signal", json={"by": "e2e"}, timeout=HTTP_TIMEOUT_S
    )
    assert response.status_code == 200
    done = wait_for_terminal(api, workflow_id)
    assert (done["status"], done["output"]) == ("COMPLETED", {"by": "e2e"})
