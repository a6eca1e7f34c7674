"""Sub-workflows through the real handlers on moto: the child is started after the parent's commit, its
end completes the parent's task, terminating the parent terminates the child."""

from __future__ import annotations

from tests.support.stack import Harness

CHILD = {"name": "child_flow", "version": 1, "tasks": [{"name": "child_work", "taskReferenceName": "cw"}]}
PARENT = {
    "name": "parent_flow",
    "tasks": [
        {
            "name": "sub",
            "taskReferenceName": "sub",
            "type": "SUB_WORKFLOW",
            "subWorkflowParam": {"name": "child_flow", "version": 1},
            "inputParameters": {"x": "${workflow.input.x}"},
        },
        {"name": "after", "taskReferenceName": "after", "inputParameters": {"y": "${sub.output.y}"}},
    ],
}


def workflow(harness: Harness, workflow_id: str) -> dict:
    return harness.api("GET", f"/api/workflow/{workflow_id}").json()


def complete_one(harness: Harness, task_type: str, output: dict) -> dict:
    [task] = harness.api("GET", f"/api/tasks/poll/batch/{task_type}?count=1").json()
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "outputData": output,
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()
    return task


def start_parent(harness: Harness) -> tuple[str, str]:
    assert harness.api("PUT", "/api/metadata/workflow", [CHILD, PARENT]).status == 200
    parent_id = harness.api("POST", "/api/workflow/parent_flow", {"x": 41}).text
    harness.pump()
    [sub] = workflow(harness, parent_id)["tasks"]
    assert sub["status"] == "IN_PROGRESS"
    return parent_id, sub["subWorkflowId"]


def test_the_child_runs_and_its_output_flows_into_the_parent(harness: Harness):
    parent_id, child_id = start_parent(harness)
    child = workflow(harness, child_id)
    assert child["parentWorkflowId"] == parent_id
    assert child["input"] == {"x": 41}
    complete_one(harness, "child_work", {"y": 42})

    assert workflow(harness, child_id)["status"] == "COMPLETED"
    parent = workflow(harness, parent_id)
    sub, after = parent["tasks"]
    assert sub["status"] == "COMPLETED" and sub["outputData"] == {"y": 42, "subWorkflowId": child_id}
    assert after["inputData"] == {"y": 42}


def test_a_failed_child_fails_the_parent_task_with_the_childs_reason(harness: Harness):
    parent_id, child_id = start_parent(harness)
    [task] = harness.api("GET", "/api/tasks/poll/batch/child_work?count=1").json()
    body = {
        "workflowInstanceId": child_id,
        "taskId": task["taskId"],
        "status": "FAILED_WITH_TERMINAL_ERROR",
        "reasonForIncompletion": "no",
    }
    harness.api("POST", "/api/tasks", body)
    harness.pump()
    parent = workflow(harness, parent_id)
    assert parent["status"] == "FAILED"
    assert parent["tasks"][0]["reasonForIncompletion"].startswith(
        f"Sub workflow child_flow.1/{child_id} failure reason:"
    )


def test_terminating_the_parent_terminates_the_child(harness: Harness):
    parent_id, child_id = start_parent(harness)
    assert harness.api("DELETE", f"/api/workflow/{parent_id}?reason=enough", {}).status == 200
    harness.pump()
    child = workflow(harness, child_id)
    assert child["status"] == "TERMINATED"
    assert child["reasonForIncompletion"] == "Parent workflow has been terminated with reason: enough"
    assert workflow(harness, parent_id)["status"] == "TERMINATED"


def test_terminating_the_child_terminates_the_parent(harness: Harness):
    parent_id, child_id = start_parent(harness)
    assert harness.api("DELETE", f"/api/workflow/{child_id}?reason=child stop", {}).status == 200
    harness.pump()
    parent = workflow(harness, parent_id)
    assert parent["tasks"][0]["status"] == "CANCELED"
    assert parent["status"] == "TERMINATED"


def test_an_unknown_child_definition_fails_the_task(harness: Harness):
    broken = {
        **PARENT,
        "name": "broken_parent",
        "tasks": [{**PARENT["tasks"][0], "subWorkflowParam": {"name": "nope"}}],
    }
    harness.api("PUT", "/api/metadata/workflow", [broken])
    parent_id = harness.api("POST", "/api/workflow/broken_parent", {}).text
    harness.pump()
    parent = workflow(harness, parent_id)
    assert parent["status"] == "FAILED"
    assert "No such workflow defined. name=nope" in parent["tasks"][0]["reasonForIncompletion"]


def test_start_workflow_starts_an_independent_workflow(harness: Harness):
    starter = {
        "name": "starter",
        "tasks": [
            {
                "name": "start",
                "taskReferenceName": "start",
                "type": "START_WORKFLOW",
                "inputParameters": {"startWorkflow": {"name": "child_flow", "input": {"k": 1}}},
            }
        ],
    }
    harness.api("PUT", "/api/metadata/workflow", [CHILD, starter])
    starter_id = harness.api("POST", "/api/workflow/starter", {}).text
    harness.pump()
    result = workflow(harness, starter_id)
    assert result["status"] == "COMPLETED"
    started_id = result["tasks"][0]["outputData"]["workflowId"]
    started = workflow(harness, started_id)
    assert started["input"] == {"k": 1} and "parentWorkflowId" not in started


def test_a_failure_workflow_is_started_once_even_when_the_decider_message_comes_back(harness: Harness):
    failing = {
        "name": "failing_flow",
        "failureWorkflow": "child_flow",
        "tasks": [{"name": "doomed", "taskReferenceName": "doomed", "retryCount": 0}],
    }
    harness.api("PUT", "/api/metadata/workflow", [CHILD, failing])
    workflow_id = harness.api("POST", "/api/workflow/failing_flow", {"order": 7}).text
    harness.pump()
    [task] = harness.api("GET", "/api/tasks/poll/batch/doomed?count=1").json()
    body = {
        "workflowInstanceId": workflow_id,
        "taskId": task["taskId"],
        "status": "FAILED",
        "reasonForIncompletion": "x",
    }
    harness.api("POST", "/api/tasks", body)
    harness.pump()

    failed = workflow(harness, workflow_id)
    failure_id = failed["output"]["conductor.failure_workflow"]
    started = workflow(harness, failure_id)
    assert started["workflowName"] == "child_flow"
    assert started["input"]["order"] == 7 and started["input"]["workflowId"] == workflow_id
    assert started["input"]["failedWorkflow"]["status"] == "FAILED"

    from batonflow.service.executor import run_decide

    run_decide(harness.runtime, workflow_id, redelivered=True)  # the outbox is repeated: nothing new
    assert workflow(harness, failure_id)["createTime"] == started["createTime"]
