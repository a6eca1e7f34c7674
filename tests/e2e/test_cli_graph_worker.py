"""`baton graph` and `baton worker` against a real local stack: typer's test runner for `graph`, a `baton
worker` subprocess (as a user starts it, with the environment `baton up` prints) for `worker`."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from batonflow.cli.main import app
from batonflow.emulator.stack import BatonStack
from tests.e2e.helpers import by_ref, inline, register, run, start, task, unique, wait_for_terminal

pytestmark = pytest.mark.e2e

DEADLINE_S = 30
runner = CliRunner()


@pytest.fixture(scope="module")
def stack() -> Iterator[BatonStack]:
    with BatonStack(port=0, stack_name="baton-e2e-cli", schedule_interval_s=2, api_concurrency=2) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: BatonStack) -> str:
    return f"{stack.api_url}/api"


def fork_workflow(name: str) -> dict:
    """A fork whose second branch fails (a script that throws), so the JOIN fails and `after` never runs."""
    return {
        "name": name,
        "version": 1,
        "tasks": [
            task(
                "fork",
                "FORK_JOIN",
                forkTasks=[
                    [inline("left", "(function () { return 1; })()")],
                    [inline("right", "(function () { throw new Error('boom'); })()")],
                ],
            ),
            task("join", "JOIN", joinOn=["left", "right"]),
            inline("after", "2"),
        ],
    }


def graph(stack: BatonStack, *args: str) -> str:
    result = runner.invoke(app, ["graph", *args, "--url", stack.api_url])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_graph_of_a_registered_definition(stack: BatonStack, api: str):
    name = unique("cli_graph_def_")
    register(api, fork_workflow(name))

    mermaid = graph(stack, name)
    assert mermaid.startswith("flowchart TD\n")
    assert '["fork<br/>FORK_JOIN"]' in mermaid
    assert "classDef" not in mermaid  # a definition has no statuses

    dot = graph(stack, name, "--format", "dot")
    assert dot.startswith("digraph workflow {\n")
    assert f'label="{name} v1";' in dot
    assert "\x1b[" not in mermaid + dot  # plain text for a pipe, no terminal styling


def test_graph_of_a_finished_execution_with_a_fork_shows_its_statuses(stack: BatonStack, api: str):
    name = unique("cli_graph_run_")
    register(api, fork_workflow(name))
    execution = run(api, name, {})
    assert execution["status"] == "FAILED"

    statuses = {ref: attempt["status"] for ref, attempt in by_ref(execution).items()}
    assert statuses["left"] == "COMPLETED" and statuses["right"].startswith("FAILED")
    assert "after" not in statuses

    mermaid = graph(stack, execution["workflowId"])
    for ref in ("fork", "left", "right", "join"):
        node_type = "FORK_JOIN" if ref == "fork" else "JOIN" if ref == "join" else "INLINE"
        assert f'["{ref}<br/>{node_type}<br/>{statuses[ref]}"]' in mermaid
    assert '["after<br/>INLINE<br/>not run"]' in mermaid
    assert "classDef completed" in mermaid and "classDef failed" in mermaid

    dot = graph(stack, execution["workflowId"], "--format", "dot")
    assert f'label="right\\nINLINE\\n{statuses["right"]}", fillcolor="#ffcdd2"' in dot


def test_graph_of_an_unknown_name_is_one_line_with_the_servers_message(stack: BatonStack):
    result = runner.invoke(app, ["graph", unique("cli_graph_none_"), "--url", stack.api_url])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("Error (404): ")


def test_baton_worker_completes_a_task_and_stops_cleanly_on_ctrl_c(stack: BatonStack, api: str):
    task_type = unique("cliw_shout_")
    name = unique("cli_worker_")
    register(
        api,
        {"name": name, "tasks": [task("shout", name=task_type, inputParameters={"word": "hi"})]},
        task_defs=[{"name": task_type, "retryCount": 0, "responseTimeoutSeconds": 30}],
    )
    baton = shutil.which("baton")
    assert baton, "the `baton` command is installed by `pip install -e .`"
    process = subprocess.Popen(
        [baton, "worker", "tests.e2e.cli_workers:shout", "--type", task_type, "--poll-wait", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **stack.worker_environment()},
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()
    output: list[str] = []
    try:
        workflow = wait_for_terminal(api, start(api, name, {}), DEADLINE_S)
        assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
        assert workflow["tasks"][0]["outputData"] == {"shouted": "HI"}
        task_id = workflow["tasks"][0]["taskId"]
        finished = read_until(lines, output, lambda line: task_id in line)
        assert re.search(rf"  {task_id}  COMPLETED  \d+\.\d+ m?s$", finished), finished

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE_S) == 0, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(5)
    while not lines.empty():
        output.append(lines.get())
    text = "".join(output)
    assert f"serving task type {task_type}" in text
    assert text.rstrip().endswith("Stopped."), text
    assert "Traceback" not in text


def read_until(lines: queue.SimpleQueue[str], seen: list[str], matches) -> str:
    """The first line from the worker that ``matches``, within the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        seen.append(line)
        if matches(line):
            return line
    raise AssertionError(f"no such line from the worker within {DEADLINE_S}s: {''.join(seen)}")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tests.e2e.no_such_module:shout", "Error: no module 'tests.e2e.no_such_module'"),
        ("tests.e2e.cli_workers:whisper", "Error: module 'tests.e2e.cli_workers' has no attribute 'whisper'"),
        ("tests.e2e.cli_workers:NOT_A_FUNCTION", "Error: tests.e2e.cli_workers:NOT_A_FUNCTION is a int"),
        ("tests.e2e.cli_workers", "Error: 'tests.e2e.cli_workers' is not MODULE:FUNCTION"),
    ],
)
def test_baton_worker_with_a_bad_target_is_one_line_and_exit_1(stack: BatonStack, target: str, message: str):
    result = runner.invoke(app, ["worker", target, "--type", "t"], env=stack.worker_environment())

    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_baton_worker_without_the_stacks_environment_is_one_line_and_exit_1():
    result = runner.invoke(
        app, ["worker", "tests.e2e.cli_workers:shout", "--type", "t"], env={"BATON_QUEUE_PREFIX": None}
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no queue prefix"), result.output
    assert len(result.output.strip().splitlines()) == 1
