"""BatonClient over real HTTP against a stdlib stub server that records requests and answers from a script."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from batonflow.sdk import BatonApiError, BatonClient

Answer = tuple[int, str, str]  # status, content type, body


class StubApi:
    """Answers each request with the next scripted answer (or 200 ``{}``) and records what it got."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[Answer] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                stub.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "body": json.loads(raw) if raw else None,
                        "content_type": self.headers.get("Content-Type"),
                    }
                )
                status, content_type, body = stub.answers.pop(0) if stub.answers else json_answer({})
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)


def json_answer(body: Any, status: int = 200) -> Answer:
    return status, "application/json", json.dumps(body)


@pytest.fixture
def api() -> Iterator[StubApi]:
    stub = StubApi()
    stub.thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()
    stub.thread.join(5)


@pytest.fixture
def client(api: StubApi) -> Iterator[BatonClient]:
    with BatonClient(api.url) as baton:
        yield baton


def test_register_task_defs_posts_an_array(api: StubApi, client: BatonClient) -> None:
    client.register_task_defs([{"name": "greet"}])
    assert api.requests == [
        {
            "method": "POST",
            "path": "/api/metadata/taskdefs",
            "query": {},
            "body": [{"name": "greet"}],
            "content_type": "application/json",
        }
    ]


def test_register_workflow_def_puts_a_one_element_array(api: StubApi, client: BatonClient) -> None:
    client.register_workflow_def({"name": "greetings", "tasks": []}, overwrite=False)
    [request] = api.requests
    assert (request["method"], request["path"], request["query"]) == (
        "PUT",
        "/api/metadata/workflow",
        {"overwrite": ["false"]},
    )
    assert request["body"] == [{"name": "greetings", "tasks": []}]


def test_start_workflow_returns_the_plain_text_id(api: StubApi, client: BatonClient) -> None:
    api.answer((200, "text/plain", "wf-123"), json_answer("wf-456"))
    assert client.start_workflow("my/flow", {"name": "Ada"}, version=2, correlation_id="c-1") == "wf-123"
    assert client.start_workflow("greetings") == "wf-456"

    first, second = api.requests
    assert (first["path"], first["query"], first["body"]) == (
        "/api/workflow/my%2Fflow",
        {"version": ["2"], "correlationId": ["c-1"]},
        {"name": "Ada"},
    )
    assert (second["query"], second["body"]) == ({}, {})


def test_a_start_with_an_idempotency_key_sends_a_start_request(api: StubApi, client: BatonClient) -> None:
    api.answer((200, "text/plain", "wf-1"))

    workflow_id = client.start_workflow(
        "greetings", {"n": 1}, idempotency_key="order-7", idempotency_strategy="RETURN_EXISTING"
    )

    [request] = api.requests
    assert workflow_id == "wf-1"
    assert (request["method"], request["path"], request["query"], request["body"]) == (
        "POST",
        "/api/workflow",
        {},
        {
            "name": "greetings",
            "input": {"n": 1},
            "idempotencyKey": "order-7",
            "idempotencyStrategy": "RETURN_EXISTING",
        },
    )


def test_get_workflow_passes_include_tasks(api: StubApi, client: BatonClient) -> None:
    api.answer(json_answer({"workflowId": "wf-1", "status": "RUNNING"}))
    assert client.get_workflow("wf-1", include_tasks=False) == {"workflowId": "wf-1", "status": "RUNNING"}
    assert api.requests[0]["query"] == {"includeTasks": ["false"]}


def test_wait_for_workflow_polls_until_a_terminal_status(api: StubApi) -> None:
    naps: list[float] = []
    api.answer(
        json_answer({"status": "RUNNING"}),
        json_answer({"status": "PAUSED"}),
        json_answer({"status": "COMPLETED", "output": {"greeting": "Hello"}}),
    )
    client = BatonClient(api.url, sleep=naps.append)
    assert client.wait_for_workflow("wf-1", poll_interval_s=0.5)["output"] == {"greeting": "Hello"}
    assert naps == [0.5, 0.5]
    assert {r["path"] for r in api.requests} == {"/api/workflow/wf-1"}


def test_wait_for_workflow_gives_up_after_the_timeout(api: StubApi) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    api.answer(*[json_answer({"status": "RUNNING"})] * 4)
    client = BatonClient(api.url, clock=lambda: now[0], sleep=sleep)
    with pytest.raises(TimeoutError, match="wf-1 still RUNNING after 1 s"):
        client.wait_for_workflow("wf-1", timeout_s=1, poll_interval_s=0.4)
    assert len(api.requests) == 4  # at 0, 0.4, 0.8 and 1.2 s


def test_terminate_workflow_sends_the_reason(api: StubApi, client: BatonClient) -> None:
    client.terminate_workflow("wf-1", reason="no longer needed")
    [request] = api.requests
    assert (request["method"], request["path"], request["query"]) == (
        "DELETE",
        "/api/workflow/wf-1",
        {"reason": ["no longer needed"]},
    )


def test_a_conductor_error_becomes_baton_api_error(api: StubApi, client: BatonClient) -> None:
    error = {"status": 404, "message": "No such workflow found by id: wf-9", "retryable": False}
    api.answer(json_answer(error, status=404))
    with pytest.raises(BatonApiError) as raised:
        client.get_workflow("wf-9")
    assert (raised.value.status, raised.value.message, raised.value.body) == (404, error["message"], error)
    assert raised.value.retryable is False


def test_a_non_json_error_keeps_its_text(api: StubApi, client: BatonClient) -> None:
    api.answer((502, "text/plain", "Bad Gateway from upstream"))
    with pytest.raises(BatonApiError) as raised:
        client.start_workflow("greetings")
    assert (raised.value.status, raised.value.message) == (502, "Bad Gateway from upstream")
    assert raised.value.retryable is True


def test_no_server_is_an_error_with_status_zero() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the call: nothing listens there
    client = BatonClient(f"http://127.0.0.1:{port}/api/", retries=0)
    assert client.api_url == f"http://127.0.0.1:{port}/api"
    with pytest.raises(BatonApiError) as raised:
        client.get_workflow("wf-1")
    assert raised.value.status == 0
    assert raised.value.retryable is True
