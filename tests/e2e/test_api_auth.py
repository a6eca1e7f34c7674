"""conductor-python 2.0 with API keys (``AuthenticationSettings``), unchanged, against ``baton up``.

With ``AuthMode=KEY`` and an application key (``baton up --auth key`` or ``--api-key-id/--api-key-secret``)
the SDK fetches one token from ``POST /api/token`` and sends it in ``X-Authorization``; its spawned worker
processes reuse it. In open mode ``/api/token`` answers 404 and the SDK, key or not, runs in open mode
(python-sdk-wire.md §2). Every HTTP request the secured stack serves is recorded through its invoke hook.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.models.workflow import Workflow
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import AuthorizationException
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker import Worker

from batonflow.emulator.lambda_runtime import Invocation
from batonflow.emulator.stack import BatonStack
from tests.e2e.auth_workers import shout
from tests.e2e.helpers import HTTP_TIMEOUT_S, TIMEOUT_S, unique

pytestmark = [
    pytest.mark.e2e,
    # the SDK reads its own deprecated model properties when it serialises a body
    pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning"),
]

KEY_ID, SECRET = "e2e-key", "e2e-secret-0123456789"


class Requests:
    """The invoke hook: records method, path and X-Authorization of every HTTP request, then serves it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []

    def __call__(self, invocation: Invocation) -> Any:
        if invocation.source == "http":
            event = invocation.event
            headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
            method = event["requestContext"]["http"]["method"]
            self.seen.append((method, event["rawPath"], headers.get("x-authorization")))
        return invocation()

    def tokens_fetched(self) -> int:
        return sum(1 for method, path, _ in self.seen if (method, path) == ("POST", "/api/token"))


@pytest.fixture(scope="module")
def recorded() -> Requests:
    return Requests()


@pytest.fixture(scope="module")
def secured(recorded: Requests) -> Iterator[BatonStack]:
    with BatonStack(
        port=0,
        stack_name="baton-e2e-auth",
        parameters={"AuthMode": "KEY"},
        invoke=recorded,
        schedule_interval_s=2,
    ) as running:
        running.create_api_key(KEY_ID, SECRET)
        yield running


def keyed(api: str, secret: str = SECRET) -> Configuration:
    return Configuration(server_api_url=api, authentication_settings=AuthenticationSettings(KEY_ID, secret))


def one_task_flow(name: str, task_name: str) -> WorkflowDef:
    work = WorkflowTask(
        name=task_name,
        task_reference_name="work",
        type="SIMPLE",
        input_parameters={"text": "${workflow.input.text}"},
    )
    return WorkflowDef(
        name=name, version=1, tasks=[work], output_parameters={"shout": "${work.output.shout}"}
    )


def eventually_terminal(clients: OrkesClients, workflow_id: str) -> Workflow:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        workflow = clients.get_workflow_client().get_workflow(workflow_id, include_tasks=True)
        if workflow is not None and workflow.status not in ("RUNNING", "PAUSED"):
            return workflow
        assert time.monotonic() < deadline, f"{workflow_id} not finished within {TIMEOUT_S}s"
        time.sleep(0.1)


def test_one_token_serves_the_clients_and_the_spawned_workers(secured: BatonStack, recorded: Requests):
    api = f"{secured.api_url}/api"
    first = len(recorded.seen)
    config = keyed(api)
    clients = OrkesClients(config)
    name = unique("auth_flow")
    clients.get_metadata_client().register_workflow_def(one_task_flow(name, f"{name}_shout"), overwrite=True)
    workflow_id = clients.get_workflow_client().start_workflow_by_name(name, {"text": "hi"}, version=1)
    worker = Worker(f"{name}_shout", shout, poll_interval=50)
    handler = TaskHandler(workers=[worker], configuration=config, scan_for_annotated_workers=False)
    handler.start_processes()
    try:
        workflow = eventually_terminal(clients, workflow_id)
    finally:
        handler.stop_processes()

    assert (workflow.status, workflow.output) == ("COMPLETED", {"shout": "HI"})
    assert [(t.task_def_name, t.status, t.output_data) for t in workflow.tasks] == [
        (f"{name}_shout", "COMPLETED", {"shout": "HI"})
    ]
    served = recorded.seen[first:]
    assert served[0][:2] == ("POST", "/api/token")
    assert recorded.tokens_fetched() == 1
    assert any(path.startswith(f"/api/tasks/poll/batch/{name}_shout") for _, path, _ in served)
    assert {token for _, path, token in served[1:]} == {config.AUTH_TOKEN}


def test_an_invalid_token_makes_the_sdk_fetch_a_new_one_and_retry(secured: BatonStack, recorded: Requests):
    config = keyed(f"{secured.api_url}/api")
    metadata = OrkesClients(config).get_metadata_client()
    name = unique("auth_retry")
    metadata.register_workflow_def(one_task_flow(name, f"{name}_shout"), overwrite=True)
    fetched = recorded.tokens_fetched()
    config.update_token("e30.Zm9yZ2Vk")  # a token this stack never signed

    assert metadata.get_workflow_def(name, version=1).name == name
    assert recorded.tokens_fetched() == fetched + 1
    assert config.AUTH_TOKEN != "e30.Zm9yZ2Vk"


def test_a_wrong_secret_is_refused_without_a_token_loop(secured: BatonStack, recorded: Requests):
    fetched = recorded.tokens_fetched()
    metadata = OrkesClients(keyed(f"{secured.api_url}/api", secret="wrong")).get_metadata_client()

    with pytest.raises(AuthorizationException) as refused:
        metadata.get_all_workflow_defs()

    assert (refused.value.status, refused.value.error_code) == (401, "INVALID_TOKEN")
    # one try when the client was built, one when the request was refused, then the SDK gives up
    assert recorded.tokens_fetched() == fetched + 2


def test_without_an_api_key_the_sdk_with_a_key_runs_in_open_mode(api: str):
    config = keyed(api)
    metadata = OrkesClients(config).get_metadata_client()
    name = unique("open_flow")

    metadata.register_workflow_def(one_task_flow(name, f"{name}_shout"), overwrite=True)

    assert config.authentication_settings is None  # the SDK's reaction to 404 from /api/token
    assert metadata.get_workflow_def(name, version=1).name == name


@contextmanager
def baton_up(*options: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """``baton up`` as a user runs it: yields its API URL and its banner; Ctrl-C stops it cleanly."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        shutil.which("baton") or "baton",
        "up",
        "--port",
        str(port),
        "--api-concurrency",
        "1",
        *options,
    ]
    environment = {**os.environ, **(env or {}), "COLUMNS": "200"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    )
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if "Press" in line:
                break
        yield f"http://127.0.0.1:{port}/api", "".join(banner)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def assert_key_opens_the_api(api: str, key_id: str, secret: str) -> None:
    refused = requests.get(f"{api}/metadata/workflow", timeout=HTTP_TIMEOUT_S)
    token = requests.post(f"{api}/token", json={"keyId": key_id, "keySecret": secret}, timeout=HTTP_TIMEOUT_S)
    served = requests.get(
        f"{api}/metadata/workflow", headers={"X-Authorization": token.json()["token"]}, timeout=HTTP_TIMEOUT_S
    )

    assert (refused.status_code, refused.json()["error"]) == (401, "INVALID_TOKEN")
    assert (served.status_code, served.json()) == (200, [])


def test_baton_up_reads_the_api_key_from_its_environment():
    env = {"BATON_API_KEY_ID": KEY_ID, "BATON_API_KEY_SECRET": SECRET}
    with baton_up(env=env) as (api, banner):
        assert f"CONDUCTOR_AUTH_KEY={KEY_ID}" in banner, banner
        assert SECRET not in banner
        assert_key_opens_the_api(api, KEY_ID, SECRET)


def test_baton_up_with_key_auth_makes_a_key_and_shows_its_secret_once():
    with baton_up("--auth", "key") as (api, banner):
        found = re.search(r"CONDUCTOR_AUTH_KEY=(\S+) CONDUCTOR_AUTH_SECRET=(\S+)", banner)
        assert found, banner
        assert_key_opens_the_api(api, found[1], found[2])
