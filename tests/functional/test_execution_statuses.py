"""``ExecutionStore.statuses``: what a watcher of many workflows (``baton bench``) polls, reading only the
status of each header."""

from __future__ import annotations

from typing import Any

from batonflow.model import Workflow, WorkflowStatus
from tests.support.stack import Harness

RETENTION_S = 30 * 86400
"""The template's default, ``WorkflowRetentionDays: 30``."""
WORKFLOW = {"name": "watched", "version": 1, "tasks": [{"name": "only", "taskReferenceName": "only"}]}


def start(harness: Harness) -> str:
    workflow_id = harness.api("POST", "/api/workflow/watched", {}).text
    harness.pump()
    return workflow_id


def test_each_existing_workflow_comes_back_with_its_status_and_unknown_ids_are_left_out(harness: Harness):
    assert harness.api("PUT", "/api/metadata/workflow", [WORKFLOW]).status == 200
    running, terminated = start(harness), start(harness)
    assert harness.api("DELETE", f"/api/workflow/{terminated}", None).status == 200

    statuses = harness.runtime.executions.statuses([running, terminated, "no-such-workflow", running])

    assert statuses == {running: WorkflowStatus.RUNNING, terminated: WorkflowStatus.TERMINATED}


def test_a_workflow_past_its_retention_is_left_out_as_a_load_leaves_it_out(harness: Harness):
    assert harness.api("PUT", "/api/metadata/workflow", [WORKFLOW]).status == 200
    running, terminated = start(harness), start(harness)
    assert harness.api("DELETE", f"/api/workflow/{terminated}", None).status == 200

    harness.clock.advance(RETENTION_S + 1)  # the header stays until TTL deletes it, some time later

    assert harness.runtime.executions.statuses([running, terminated]) == {running: WorkflowStatus.RUNNING}
    assert harness.runtime.executions.load(terminated) is None


def test_more_ids_than_one_batch_get_takes_are_read_in_batches_of_a_hundred_reading_nothing_but_status(
    harness: Harness,
):
    executions = harness.runtime.executions
    ids = [f"watched-{index:03d}" for index in range(150)]
    for workflow_id in ids:
        executions.create(Workflow(workflowId=workflow_id, workflowName="watched"), wake_at=None)
    requests: list[dict[str, Any]] = []
    client = executions._client
    real_batch_get = client.batch_get_item

    def batch_get(**kwargs: Any) -> dict[str, Any]:
        requests.append(kwargs)
        response = real_batch_get(**kwargs)
        for item in response["Responses"][harness.runtime.settings.table]:
            assert set(item) == {"PK", "status"}  # running: no expiry yet
        return response

    client.batch_get_item = batch_get

    statuses = executions.statuses(ids)

    assert statuses == dict.fromkeys(ids, WorkflowStatus.RUNNING)
    assert [len(r["RequestItems"][harness.runtime.settings.table]["Keys"]) for r in requests] == [100, 50]
