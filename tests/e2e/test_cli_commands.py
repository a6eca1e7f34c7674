"""The `baton` API commands (defs, start, status, search, lifecycle operations) against a real local stack,
through typer's test runner, as a user types them with `--url`."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from batonflow.cli.main import app
from batonflow.emulator.stack import BatonStack
from batonflow.sdk import BatonClient, Worker, WorkerSettings
from tests.e2e.helpers import inline, task, unique

pytestmark = pytest.mark.e2e

DEADLINE_S = 30
runner = CliRunner()


@pytest.fixture(scope="module")
def stack() -> Iterator[BatonStack]:
    with BatonStack(
        port=0, stack_name="baton-e2e-clicmd", schedule_interval_s=2, api_concurrency=2
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack: BatonStack) -> BatonClient:
    return BatonClient(stack.api_url)


@pytest.fixture(scope="module")
def greet_type(stack: BatonStack, client: BatonClient) -> Iterator[str]:
    """A SIMPLE task type served by an SQS-native SDK worker: greets, and fails for the name "fail"."""
    task_type = unique("cli_greet_")
    client.register_task_defs([{"name": task_type, "retryCount": 0, "responseTimeoutSeconds": 30}])

    def greet(name: str) -> dict[str, str]:
        if name == "fail":
            raise ValueError("cannot greet 'fail'")
        return {"greeting": f"Hello, {name}!"}

    worker = Worker(task_type, greet, wait_seconds=1)
    worker.start(WorkerSettings.from_env(stack.worker_environment(), worker_id="cli-e2e"))
    try:
        yield task_type
    finally:
        worker.stop(grace_seconds=5)


def baton(stack: BatonStack, *args: str) -> Result:
    return runner.invoke(app, [*args, "--url", stack.api_url])


def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something truthy; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {DEADLINE_S} s: {what}"


def wait_status(client: BatonClient, workflow_id: str, *statuses: str) -> dict[str, Any]:
    return eventually(
        lambda: (w := client.get_workflow(workflow_id))["status"] in statuses and w,
        f"workflow {workflow_id} in {statuses}",
    )


def greet_workflow(name: str, task_type: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": 1,
        "description": "Greets someone",
        "tasks": [task("greet", name=task_type, inputParameters={"name": "${workflow.input.name}"})],
        "outputParameters": {"greeting": "${greet.output.greeting}"},
    }


def test_defs_push_of_a_folder_then_list_and_show(stack: BatonStack, tmp_path: Path):
    name = unique("cli_defs_")
    folder = tmp_path / "defs"
    (folder / "nested").mkdir(parents=True)
    # the workflow def sorts first by file name: push still registers the task def before it
    (folder / "a_flow.json").write_text(json.dumps(greet_workflow(name, f"{name}_task")))
    (folder / "nested" / "tasks.json").write_text(
        json.dumps([{"name": f"{name}_task", "retryCount": 2, "description": "the greeter"}])
    )

    pushed = baton(stack, "defs", "push", str(folder))
    assert pushed.exit_code == 0, pushed.output
    lines = pushed.stdout.splitlines()
    assert f"task def {name}_task" in lines[0] and f"workflow def {name} v1" in lines[1]

    listed = baton(stack, "defs", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if f"{name} " in line)
    assert [cell.strip() for cell in row.split("│")[1:5]] == [name, "1", "1", "Greets someone"]
    task_defs = baton(stack, "defs", "list", "--task-defs")
    assert f"{name}_task" in task_defs.stdout and "the greeter" in task_defs.stdout

    shown = baton(stack, "defs", "show", name, "--version", "1")
    assert shown.exit_code == 0, shown.output
    definition = json.loads(shown.stdout)
    assert (definition["name"], definition["version"]) == (name, 1)
    assert definition["tasks"][0]["name"] == f"{name}_task"
    task_def = json.loads(baton(stack, "defs", "show", f"{name}_task", "--task").stdout)
    assert task_def["retryCount"] == 2


def test_defs_push_shows_validation_errors_per_field(stack: BatonStack, tmp_path: Path):
    name = unique("cli_bad_")
    invalid = {"name": name, "version": 1, "tasks": [{"name": "x", "type": "SIMPLE"}]}
    (tmp_path / "bad.json").write_text(json.dumps(invalid))

    pushed = baton(stack, "defs", "push", str(tmp_path / "bad.json"))

    assert pushed.exit_code == 1
    assert "Traceback" not in pushed.output
    assert f"workflow def {name} v1" in pushed.stderr and "Error (400)" in pushed.stderr
    field_lines = [line.strip() for line in pushed.stderr.splitlines() if line.startswith("    ")]
    assert any(
        line.startswith("workflowDefs[0].tasks[0].taskReferenceName:") and "cannot be empty" in line
        for line in field_lines
    ), pushed.stderr
    assert baton(stack, "defs", "show", name).exit_code == 1


def test_start_wait_prints_the_output_of_a_completed_workflow(
    stack: BatonStack, client: BatonClient, greet_type: str
):
    name = unique("cli_start_")
    client.register_workflow_def(greet_workflow(name, greet_type))

    started = baton(stack, "start", name, "--input", '{"name": "Ada"}', "--wait", "--timeout", "30")

    assert started.exit_code == 0, started.output
    workflow_id = started.stdout.splitlines()[0]
    workflow = client.get_workflow(workflow_id)
    assert workflow["status"] == "COMPLETED"
    assert "greet" in started.stdout and "worker cli-e2e" in started.stdout
    output = json.loads(started.stdout[started.stdout.rindex("\n{") :])
    assert output == {"greeting": "Hello, Ada!"}


def test_start_wait_of_a_failing_workflow_exits_1_with_the_reason(
    stack: BatonStack, client: BatonClient, greet_type: str, tmp_path: Path
):
    name = unique("cli_fail_")
    client.register_workflow_def(greet_workflow(name, greet_type))
    (tmp_path / "input.json").write_text('{"name": "fail"}')

    started = baton(stack, "start", name, "--input-file", str(tmp_path / "input.json"), "--wait")

    assert started.exit_code == 1
    assert client.get_workflow(started.stdout.splitlines()[0])["status"] == "FAILED"
    assert started.stdout.splitlines()[-1].startswith("FAILED: ")
    assert "cannot greet 'fail'" in started.stdout.splitlines()[-1]


def test_start_wait_gives_up_after_the_timeout(stack: BatonStack, client: BatonClient):
    name = unique("cli_slow_")
    client.register_workflow_def(greet_workflow(name, unique("cli_nobody_")))

    started = baton(stack, "start", name, "--wait", "--timeout", "1")

    assert started.exit_code == 1
    workflow_id = started.stdout.splitlines()[0]
    assert started.stderr.strip() == f"Timed out after 1 s: workflow {workflow_id} is still RUNNING"
    client.terminate_workflow(workflow_id)


def nodes(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["ref"]: node for node in tree["tasks"]}


def group_refs(node: dict[str, Any]) -> list[tuple[str, Any, list[str]]]:
    return [(g["kind"], g["key"], [t["ref"] for t in g["tasks"]]) for g in node["groups"]]


def test_status_nests_fork_branches_and_sub_workflows(stack: BatonStack, client: BatonClient):
    name = unique("cli_fork_")
    child = {"name": f"{name}_child", "version": 1, "tasks": [inline("inner", "7")]}
    parent = {
        "name": name,
        "version": 1,
        "tasks": [
            task(
                "fork",
                "FORK_JOIN",
                forkTasks=[
                    [inline("left1", "1"), inline("left2", "2")],
                    [task("sub", "SUB_WORKFLOW", subWorkflowParam={"name": f"{name}_child", "version": 1})],
                ],
            ),
            task("join", "JOIN", joinOn=["left2", "sub"]),
        ],
    }
    client.register_workflow_def(child)
    client.register_workflow_def(parent)
    workflow_id = client.start_workflow(name)
    client.wait_for_workflow(workflow_id, timeout_s=DEADLINE_S)

    shown = baton(stack, "status", workflow_id, "--json")

    assert shown.exit_code == 0, shown.output
    tree = json.loads(shown.stdout)
    assert (tree["workflowId"], tree["status"]) == (workflow_id, "COMPLETED")
    assert list(nodes(tree)) == ["fork", "join"]
    fork = nodes(tree)["fork"]
    assert (fork["type"], fork["status"]) == ("FORK_JOIN", "COMPLETED")
    assert group_refs(fork) == [("branch", 1, ["left1", "left2"]), ("branch", 2, ["sub"])]
    sub = fork["groups"][1]["tasks"][0]
    assert sub["subWorkflow"]["workflowId"] == sub["subWorkflowId"]
    assert [t["ref"] for t in sub["subWorkflow"]["tasks"]] == ["inner"]

    text = baton(stack, "status", workflow_id)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"{name} v1  {workflow_id}  COMPLETED")
    assert [line.split()[-1] for line in lines if "branch" in line] == ["1", "2"]
    for ref in ("left1", "left2", "sub", "inner", "join"):
        assert any(f"── {ref}  " in line for line in lines), ref
    # nesting shows as indentation: branch under fork, tasks under branch, the child's task under sub
    indent = {
        ref: next(line.index(f"{ref}  ") for line in lines if f"── {ref}  " in line)
        for ref in ("fork", "left1", "sub", "inner")
    }
    assert indent["fork"] < indent["left1"] == indent["sub"] < indent["inner"]


def test_status_nests_loop_iterations(stack: BatonStack, client: BatonClient):
    name = unique("cli_loop_")
    loop = task(
        "loop",
        "DO_WHILE",
        loopCondition="$.loop['iteration'] < 2",
        loopOver=[inline("body", "1")],
    )
    client.register_workflow_def({"name": name, "version": 1, "tasks": [loop]})
    workflow_id = client.start_workflow(name)
    client.wait_for_workflow(workflow_id, timeout_s=DEADLINE_S)

    tree = json.loads(baton(stack, "status", workflow_id, "--json").stdout)

    assert list(nodes(tree)) == ["loop"]
    assert group_refs(nodes(tree)["loop"]) == [
        ("iteration", 1, ["body__1"]),
        ("iteration", 2, ["body__2"]),
    ]
    text = baton(stack, "status", workflow_id).stdout
    assert "iteration 2" in text and "── body__2  INLINE  COMPLETED" in text


def test_search_by_name_status_and_start_time(stack: BatonStack, client: BatonClient):
    name = unique("cli_search_")
    flaky = inline("maybe", "if ($.fail) { throw new Error('asked to'); } 1", fail="${workflow.input.fail}")
    client.register_workflow_def({"name": name, "version": 1, "tasks": [flaky]})
    passed = client.start_workflow(name, {"fail": False})
    failed = client.start_workflow(name, {"fail": True})
    wait_status(client, passed, "COMPLETED")
    wait_status(client, failed, "FAILED")

    def rows(*filters: str) -> list[str]:
        found = baton(stack, "search", *filters)
        assert found.exit_code == 0, found.output
        return [line for line in found.stdout.splitlines() if line[:36] in (passed, failed)]

    everything = eventually(lambda: len(rows("--name", name)) == 2 and rows("--name", name), "both found")
    assert {line[:36] for line in everything} == {passed, failed}
    status_of = {line[:36]: line.split()[3] for line in everything}  # id, name, version, status, ...
    assert status_of == {passed: "COMPLETED", failed: "FAILED"}
    only_failed = eventually(lambda: rows("--name", name, "--status", "failed"), "failed one found")
    assert [line[:36] for line in only_failed] == [failed]
    assert " FAILED " in only_failed[0]
    both = rows("--name", name, "--status", "FAILED", "--status", "COMPLETED", "--since", "1h")
    assert {line[:36] for line in both} == {passed, failed}
    assert rows("--name", name, "--since", "2999-01-01") == []


def test_lifecycle_operations_change_the_workflow(stack: BatonStack, client: BatonClient):
    name = unique("cli_ops_")
    # nobody polls this task type: the workflow stays RUNNING until the operations end it
    client.register_workflow_def(greet_workflow(name, unique("cli_idle_")))
    workflow_id = client.start_workflow(name, {"name": "x"})

    def run(*args: str) -> dict[str, Any]:
        done = baton(stack, *args)
        assert done.exit_code == 0, done.output
        assert workflow_id in done.stdout
        return client.get_workflow(workflow_id)

    def tasks_when(check: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        return eventually(
            lambda: check(tasks := client.get_workflow(workflow_id)["tasks"]) and tasks, "the tasks"
        )

    assert run("pause", workflow_id)["status"] == "PAUSED"
    assert run("resume", workflow_id)["status"] == "RUNNING"
    terminated = run("terminate", workflow_id, "--reason", "operator said so")
    assert (terminated["status"], terminated["reasonForIncompletion"]) == ("TERMINATED", "operator said so")
    first_task = terminated["tasks"][0]["taskId"]
    assert run("restart", workflow_id)["status"] == "RUNNING"
    restarted = tasks_when(lambda tasks: len(tasks) == 1)
    assert restarted[0]["taskId"] != first_task
    run("terminate", workflow_id)
    assert run("retry", workflow_id)["status"] == "RUNNING"
    retried = tasks_when(lambda tasks: len(tasks) == 2)
    assert [(t["status"], t["retryCount"]) for t in retried] == [("CANCELED", 0), ("SCHEDULED", 1)]
    run("terminate", workflow_id)
    target = client.get_workflow(workflow_id)["tasks"][-1]["taskId"]
    rerun = run("rerun", workflow_id, "--from-task", target, "--task-input", '{"name": "again"}')
    assert rerun["status"] == "RUNNING"
    rerun_tasks = tasks_when(lambda tasks: len(tasks) == 1)  # the reference runs again, with that input
    assert (rerun_tasks[0]["status"], rerun_tasks[0]["inputData"]) == ("SCHEDULED", {"name": "again"})
    run("terminate", workflow_id)


def test_errors_are_one_readable_line(stack: BatonStack):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    unknown = str(uuid.uuid4())

    nothing_there = runner.invoke(app, ["status", unknown, "--url", f"http://127.0.0.1:{free_port}"])
    missing = baton(stack, "status", unknown)
    conflict = baton(stack, "pause", unknown)

    assert nothing_there.exit_code == 1
    assert nothing_there.output == (
        f"Error (0): no answer from http://127.0.0.1:{free_port}/api: Connection refused\n"
    )
    assert missing.exit_code == 1
    assert missing.output == f"Error (404): No such workflow found by id: {unknown}\n"
    assert conflict.exit_code == 1 and conflict.output.startswith("Error (404): ")
    assert len(conflict.output.splitlines()) == 1

    debug = runner.invoke(app, ["--debug", "status", unknown, "--url", stack.api_url])
    assert debug.exit_code == 1
    assert type(debug.exception).__name__ == "BatonApiError" and debug.exception.status == 404
