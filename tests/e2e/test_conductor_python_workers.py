"""The worker side of conductor-python (``TaskHandler``, ``@worker_task``, ``TaskClient``) against a real
``baton up`` stack.

Worker functions live in :mod:`tests.e2e.sdk_workers` (TaskHandler spawns a process per worker, which
imports them). Every assertion is on what the server stored or what the worker received: the SDK turns an
answer it cannot deserialize into ``None`` silently, so "no exception" proves nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import TaskResult
from conductor.client.http.models.task_result_status import TaskResultStatus
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from batonflow.emulator.lambda_runtime import Invocation
from batonflow.emulator.stack import BatonStack
from tests.e2e import sdk_workers
from tests.e2e.helpers import HTTP_TIMEOUT_S, get_workflow, register, start, unique, wait_for_terminal

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 20


@contextmanager
def workers(api: str, *task_types: str) -> Iterator[None]:
    """The named ``sdk_workers`` running in a TaskHandler (process isolation) for the ``with`` block."""
    handler = sdk_workers.task_handler(api, *task_types)
    handler.start_processes()
    try:
        yield
    finally:
        handler.stop_processes()


def stopped(program: subprocess.Popen[bytes], stderr: Path | None = None) -> int:
    """The worker program's exit code once it has stopped by itself. If it does not stop within
    ``STOP_TIMEOUT_S`` the test fails with what it was doing: a program run with ``-X faulthandler`` and its
    standard error in ``stderr`` is sent SIGABRT, which prints every thread's stack there."""
    try:
        return program.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        children = subprocess.run(
            ["ps", "-o", "pid,stat,etime,args", "--ppid", str(program.pid)], capture_output=True, text=True
        ).stdout
        signal_state = _signal_state(program.pid)
        program.send_signal(signal.SIGABRT)
        try:
            program.wait(5)
        except subprocess.TimeoutExpired:
            program.kill()
            program.wait()
        output = stderr.read_text(errors="replace")[-20_000:] if stderr is not None else ""
        told = f"still running {STOP_TIMEOUT_S} s after it was told to stop"
        pytest.fail(f"{told}\n{children}\n{signal_state}\n{output}")


AS_FROM_A_TERMINAL = (
    "import os, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)
"""Run a program (the arguments after ``-c`` and this) with Ctrl-C's default action, as a shell starts a
foreground command. A process started with SIGINT ignored keeps it ignored, and Python then installs no
KeyboardInterrupt handler: the test suite run as a background job of a shell without job control (``pytest
&`` in a script) ignores SIGINT, and the README program then never stopped on the test's Ctrl-C."""

_SIGNAL_FIELDS = ("Name", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


def _signal_state(pid: int) -> str:
    """Each thread's pending, blocked, ignored and caught signal masks (``/proc``; SIGINT is 0x2): whether a
    Ctrl-C that did not stop the program was ignored, blocked, or is still waiting for a thread to take it."""
    lines = []
    for status in sorted(Path(f"/proc/{pid}/task").glob("*/status")):
        try:
            fields = status.read_text().splitlines()
        except OSError:
            continue
        masks = [f for f in fields if f.startswith(_SIGNAL_FIELDS)]
        lines.append(f"thread {status.parent.name}: " + " ".join(" ".join(m.split()) for m in masks))
    return "\n".join(lines)


def simple_workflow(api: str, task_type: str, inputs: dict[str, str], **task_def: Any) -> str:
    """Register a one-task workflow (unique name) over ``task_type`` with its task definition; its name."""
    name = unique(f"{task_type}_wf_")
    definition = {
        "name": task_type,
        "retryCount": 0,
        "retryDelaySeconds": 0,
        "responseTimeoutSeconds": 30,
        "timeoutSeconds": 60,
        **task_def,
    }
    workflow = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "tasks": [
            {"name": task_type, "taskReferenceName": "work", "type": "SIMPLE", "inputParameters": inputs}
        ],
        "outputParameters": {"result": "${work.output}"},
    }
    register(api, workflow, task_defs=[definition])
    return name


def attempts(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in workflow["tasks"] if t["referenceTaskName"] == "work"]


def assert_received(received: dict[str, Any], task: dict[str, Any], workflow: dict[str, Any]) -> None:
    """What the worker's deserialized Task held is what the server stored: valid enum, int epoch-ms times,
    an object ``inputData``."""
    assert received["taskId"] == task["taskId"]
    assert received["status"] == "IN_PROGRESS"
    assert received["taskType"] == received["taskDefName"] == task["taskType"]
    assert received["workflowInstanceId"] == workflow["workflowId"]
    assert received["workflowType"] == workflow["workflowName"]
    assert received["referenceTaskName"] == "work"
    assert received["inputData"] == task["inputData"]
    assert received["pollCount"] == 1
    assert received["retryCount"] == 0
    assert received["responseTimeoutSeconds"] == 30
    for key in ("scheduledTime", "startTime", "updateTime"):
        assert isinstance(received[key], int), (key, received[key])
    assert workflow["createTime"] <= received["scheduledTime"] <= received["startTime"] <= task["endTime"]


@pytest.mark.parametrize(
    ("task_type", "worker_id"), [("sdkw_greet", "sdkw-process"), ("sdkw_greet_async", "sdkw-async")]
)
def test_process_isolated_sync_and_async_workers_complete_workflows(
    api: str, task_type: str, worker_id: str
) -> None:
    name = simple_workflow(api, task_type, {"name": "${workflow.input.name}"})
    with workers(api, task_type):
        ids = [start(api, name, {"name": who}) for who in ("Ada", "Grace")]
        runs = [wait_for_terminal(api, workflow_id) for workflow_id in ids]
    for who, run in zip(("Ada", "Grace"), runs, strict=True):
        assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
        [task] = attempts(run)
        assert (task["status"], task["workerId"]) == ("COMPLETED", worker_id)
        assert task["outputData"]["greeting"] == f"Hello, {who}!"
        assert run["output"]["result"]["greeting"] == f"Hello, {who}!"
        assert_received(task["outputData"]["received"], task, run)
        assert task["outputData"]["received"]["workerId"] == worker_id


def test_thread_isolated_worker_completes_a_workflow(api: str) -> None:
    """``CONDUCTOR_WORKER_ISOLATION=thread`` runs workers as threads the SDK cannot stop, so the handler runs
    in its own program, ended by closing its standard input."""
    name = simple_workflow(api, "sdkw_greet_thread", {"name": "${workflow.input.name}"})
    program = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.sdk_workers", api, "sdkw_greet_thread"],
        cwd=REPO,
        env={**os.environ, "CONDUCTOR_WORKER_ISOLATION": "thread"},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        run = wait_for_terminal(api, start(api, name, {"name": "Linus"}))
    finally:
        assert program.stdin is not None
        program.stdin.close()
        returncode = stopped(program)
    assert returncode == 0
    assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
    [task] = attempts(run)
    assert (task["workerId"], task["outputData"]["greeting"]) == ("sdkw-thread", "Hello, Linus!")
    assert_received(task["outputData"]["received"], task, run)


def test_readme_example_runs_a_workflow(api: str, tmp_path: Path) -> None:
    """The README's "Using conductor-python workers" program, as printed (only the URL is the stack's),
    completes a workflow and stops on Ctrl-C."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Using conductor-python workers", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    script = tmp_path / "workers.py"
    script.write_text(example.group(1).replace("http://127.0.0.1:8080/api", api))
    name = unique("readme_")
    register(
        api,
        {
            "name": name,
            "version": 1,
            "tasks": [
                {
                    "name": "greet",
                    "taskReferenceName": "greet",
                    "inputParameters": {"name": "${workflow.input.name}"},
                }
            ],
            "outputParameters": {"message": "${greet.output.greeting}"},
        },
    )
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as stderr_file:
        program = subprocess.Popen(
            [sys.executable, "-c", AS_FROM_A_TERMINAL, "-X", "faulthandler", str(script)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
        )
    try:
        run = wait_for_terminal(api, start(api, name, {"name": "Ada"}))
    finally:
        program.send_signal(signal.SIGINT)  # Ctrl-C
        stopped(program, stderr)
    assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
    assert run["output"] == {"message": "Hello, Ada"}


@dataclass(frozen=True)
class Exchange:
    path: str
    request: Any
    status: int
    response: Any


@dataclass
class ApiTraffic:
    """Every request the stack's API function served while installed (an Invoker hook), decoded."""

    invoker: Any
    exchanges: list[Exchange] = field(default_factory=list)

    def __call__(self, invocation: Invocation) -> Any:
        response = self.invoker(invocation)
        event = invocation.event
        self.exchanges.append(
            Exchange(event.get("rawPath", ""), _json(event), response["statusCode"], _json(response))
        )
        return response

    def to(self, path: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.path == path]


def _json(message: dict[str, Any]) -> Any:
    """A request's or response's body: decoded JSON, else its text (ids are text/plain), None if empty."""
    body = message.get("body") or ""
    if message.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


@pytest.fixture
def traffic(stack: BatonStack, monkeypatch: pytest.MonkeyPatch) -> ApiTraffic:
    api_function = stack.functions["ApiFunction"]
    recorder = ApiTraffic(api_function._invoker)
    monkeypatch.setattr(api_function, "_invoker", recorder)
    return recorder


def test_update_v2_hands_the_next_task_to_the_worker_which_runs_it_at_once(
    api: str, traffic: ApiTraffic
) -> None:
    name = simple_workflow(api, "sdkw_chain", {"n": "${workflow.input.n}"})
    ids = [start(api, name, {"n": n}) for n in range(3)]
    deadline = time.monotonic() + 10
    while not all(attempts(get_workflow(api, i)) for i in ids):
        assert time.monotonic() < deadline, "tasks never scheduled"
    with workers(api, "sdkw_chain"):
        runs = [wait_for_terminal(api, i) for i in ids]
    assert [r["output"]["result"]["doubled"] for r in runs] == [0, 2, 4]
    handed = sorted(attempts(r)[0]["taskId"] for r in runs)
    assert sorted(r["output"]["result"]["taskId"] for r in runs) == handed
    by_poll = [t["taskId"] for e in traffic.to("/api/tasks/poll/batch/sdkw_chain") for t in e.response or []]
    updates = traffic.to("/api/tasks/update-v2")
    by_update = [e.response["taskId"] for e in updates if e.response]
    # 3 tasks, fewer handed out by polls: the others came back in update-v2 answers and ran without a poll
    assert sorted(by_poll + by_update) == handed
    assert by_update and len(by_poll) < 3
    assert sorted(e.request["taskId"] for e in updates) == handed  # one result per task, all through v2
    # every chain ends with a 204 (no next task): as many as the polls that handed out a task
    assert sorted(e.status for e in updates) == [200] * len(by_update) + [204] * len(by_poll)


def test_empty_batch_poll_answers_an_empty_list(api: str) -> None:
    task_type = unique("sdkw_nothing_")
    for timeout in (0, 100, 1000):
        response = requests.get(
            f"{api}/tasks/poll/batch/{task_type}",
            params={"workerid": "w", "count": 5, "timeout": timeout},
            timeout=HTTP_TIMEOUT_S,
        )
        assert (response.status_code, response.json()) == (200, [])
    client = OrkesClients(Configuration(server_api_url=api)).get_task_client()
    assert client.batch_poll_tasks(task_type, "w", 2, 100) == []


def test_v1_update_and_duplicate_results_change_nothing(api: str) -> None:
    """The v1 ``POST /tasks`` (TaskClient.update_task) completes a task; the same result again, through v1
    or update-v2, answers 2xx and changes nothing."""
    task_type = unique("sdkw_v1_")
    name = simple_workflow(api, task_type, {"x": "${workflow.input.x}"})
    workflow_id = start(api, name, {"x": 7})
    client = OrkesClients(Configuration(server_api_url=api)).get_task_client()
    deadline = time.monotonic() + 10
    polled: list[Any] = []
    while not polled:
        assert time.monotonic() < deadline, "no task handed out"
        polled = client.batch_poll_tasks(task_type, "v1-worker", 1, 100)
    [task] = polled
    assert (task.workflow_instance_id, task.status, task.input_data) == (workflow_id, "IN_PROGRESS", {"x": 7})

    def result(output: dict[str, Any]) -> TaskResult:
        return TaskResult(
            workflow_instance_id=workflow_id,
            task_id=task.task_id,
            status=TaskResultStatus.COMPLETED,
            output_data=output,
            worker_id="v1-worker",
        )

    assert client.update_task(result({"y": 14})) == task.task_id
    run = wait_for_terminal(api, workflow_id)
    assert (run["status"], run["output"]) == ("COMPLETED", {"result": {"y": 14}})
    stored = attempts(run)[0]

    assert client.update_task(result({"y": -1})) == task.task_id
    late = {
        "workflowInstanceId": workflow_id,
        "taskId": task.task_id,
        "status": "FAILED",
        "outputData": {"y": -2},
        "workerId": "v1-worker",
    }
    response = requests.post(f"{api}/tasks/update-v2", json=late, timeout=HTTP_TIMEOUT_S)
    assert response.status_code in (200, 204), response.text
    response = requests.post(f"{api}/tasks", json=late, timeout=HTTP_TIMEOUT_S)
    assert (response.status_code, response.text) == (200, task.task_id)
    again = get_workflow(api, workflow_id)
    assert again["status"] == "COMPLETED"
    assert attempts(again) == [stored]


def test_a_result_for_an_unknown_task_is_a_4xx_error_other_than_404_on_update_v2(api: str) -> None:
    """404/405 on update-v2 would make a sync runner give up update-v2 for good."""
    unknown = {
        "workflowInstanceId": str(uuid.uuid4()),
        "taskId": str(uuid.uuid4()),
        "status": "COMPLETED",
        "outputData": {},
        "workerId": "w",
    }
    response = requests.post(f"{api}/tasks/update-v2", json=unknown, timeout=HTTP_TIMEOUT_S)
    assert 400 <= response.status_code < 500 and response.status_code not in (404, 405)
    assert unknown["taskId"] in response.json()["message"]
    task_api = OrkesClients(Configuration(server_api_url=api)).get_task_client().taskResourceApi
    with pytest.raises(ApiException) as raised:
        task_api.update_task_v2(TaskResult(**_snake(unknown)))
    assert raised.value.status == response.status_code
    assert unknown["taskId"] in raised.value.message


def _snake(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "workflow_instance_id": result["workflowInstanceId"],
        "task_id": result["taskId"],
        "status": result["status"],
        "output_data": result["outputData"],
        "worker_id": result["workerId"],
    }


def lease_task_def(response_timeout_s: int) -> dict[str, Any]:
    return {
        "responseTimeoutSeconds": response_timeout_s,
        "timeoutSeconds": 30,
        "retryCount": 1,
        "timeoutPolicy": "RETRY",
    }


def test_lease_extension_keeps_a_slow_attempt_alive(api: str, traffic: ApiTraffic) -> None:
    """A 7 s attempt of a task with a 5 s response timeout completes: the heartbeats only moved its deadline.

    The SDK looks for due heartbeats once a second and sends one 0.8 x responseTimeoutSeconds after the
    poll, rounded up to that tick: 4 s here, a second before the deadline. (With 2 s it would be sent at
    2 s, on the deadline itself, racing the server's timeout.)
    """
    name = simple_workflow(api, "sdkw_lease", {"n": "${workflow.input.n}"}, **lease_task_def(5))
    with workers(api, "sdkw_lease"):
        run = wait_for_terminal(api, start(api, name, {"n": 1}))
    assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
    [task] = attempts(run)
    assert (task["status"], task["retryCount"], task["pollCount"]) == ("COMPLETED", 0, 1)
    assert task["outputData"] == {"n": 1, "retryCount": 0}
    assert task["endTime"] - task["startTime"] >= sdk_workers.LEASE_WORK_S * 1000
    heartbeats = [e for e in traffic.to("/api/tasks") if e.request.get("taskId") == task["taskId"]]
    assert heartbeats and all(e.request["extendLease"] is True for e in heartbeats)
    assert all((e.status, e.response) == (200, task["taskId"]) for e in heartbeats)


def test_without_lease_extension_a_slow_attempt_times_out_and_is_retried(api: str) -> None:
    name = simple_workflow(api, "sdkw_no_lease", {"n": "${workflow.input.n}"}, **lease_task_def(2))
    with workers(api, "sdkw_no_lease"):
        run = wait_for_terminal(api, start(api, name, {"n": 2}))
    assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
    first, retry = attempts(run)
    assert (first["status"], first["retryCount"]) == ("TIMED_OUT", 0)
    assert "retryCount" not in first["outputData"]  # its late result changed nothing
    assert (retry["status"], retry["retryCount"], retry["outputData"]) == (
        "COMPLETED",
        1,
        {"n": 2, "retryCount": 1},
    )


def test_an_exception_fails_the_attempt_with_its_message_and_is_retried(api: str) -> None:
    name = simple_workflow(api, "sdkw_fail", {"item": "${workflow.input.item}"}, retryCount=1)
    with workers(api, "sdkw_fail"):
        run = wait_for_terminal(api, start(api, name, {"item": "order-1"}))
    assert run["status"] == "FAILED"
    tried = attempts(run)
    assert [(t["status"], t["retryCount"]) for t in tried] == [("FAILED", 0), ("FAILED", 1)]
    assert all("cannot process order-1" in t["reasonForIncompletion"] for t in tried)


def test_a_non_retryable_exception_fails_terminally_without_retry(api: str) -> None:
    name = simple_workflow(api, "sdkw_terminal", {"item": "${workflow.input.item}"}, retryCount=2)
    with workers(api, "sdkw_terminal"):
        run = wait_for_terminal(api, start(api, name, {"item": "order-2"}))
    assert run["status"] == "FAILED"
    [task] = attempts(run)
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "order-2 is invalid for good" in task["reasonForIncompletion"]


def test_task_in_progress_is_polled_again_after_its_callback(api: str) -> None:
    name = simple_workflow(api, "sdkw_callback", {"job": "${workflow.input.job}"})
    with workers(api, "sdkw_callback"):
        run = wait_for_terminal(api, start(api, name, {"job": "j1"}))
    assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
    [task] = attempts(run)
    output = task["outputData"]
    assert (task["status"], task["pollCount"], output["pollCount"], output["job"]) == (
        "COMPLETED",
        2,
        2,
        "j1",
    )
    assert output["secondPollMs"] - output["firstPollMs"] >= 1000


def test_a_plain_return_value_is_wrapped_and_context_logs_are_stored(api: str) -> None:
    name = simple_workflow(api, "sdkw_plain", {"word": "${workflow.input.word}"})
    with workers(api, "sdkw_plain"):
        run = wait_for_terminal(api, start(api, name, {"word": "hi"}))
    assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
    [task] = attempts(run)
    assert task["outputData"] == {"result": "HI"}
    response = requests.get(f"{api}/tasks/{task['taskId']}/log", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    [log] = response.json()
    assert (log["log"], log["taskId"]) == ("shouting hi", task["taskId"])
    assert isinstance(log["createdTime"], int) and task["startTime"] <= log["createdTime"] <= task["endTime"]
    client = OrkesClients(Configuration(server_api_url=api)).get_task_client()
    assert [entry.log for entry in client.get_task_logs(task["taskId"])] == ["shouting hi"]


def test_a_worker_receives_and_returns_payloads_over_the_threshold(api: str, stack: BatonStack) -> None:
    """The input (200 KB, over the 64 KB default threshold) reaches the worker whole through its poll; its
    output of the same size is stored by the API; both live in the payload bucket, not in the table."""
    blob = os.urandom(100_000).hex()
    name = simple_workflow(api, "sdkw_big", {"blob": "${workflow.input.blob}"})
    with workers(api, "sdkw_big"):
        run = wait_for_terminal(api, start(api, name, {"blob": blob}))
    assert run["status"] == "COMPLETED", run.get("reasonForIncompletion")
    [task] = attempts(run)
    assert task["inputData"] == {"blob": blob}
    expected = {"length": len(blob), "sha256": hashlib.sha256(blob.encode()).hexdigest(), "echo": blob[::-1]}
    assert task["outputData"] == expected
    assert run["output"] == {"result": expected}
    s3 = stack.client("s3")
    listing = s3.list_objects_v2(
        Bucket=stack.resources["PayloadBucket"].ref, Prefix=f"payloads/{run['workflowId']}/"
    )
    # the workflow input, the task input (the same JSON), the task output and the workflow output
    assert len(listing.get("Contents", [])) == 3
