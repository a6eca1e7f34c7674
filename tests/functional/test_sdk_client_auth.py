"""BatonClient's auth modes over real HTTP: API keys against the secured stack on moto (served by the
emulator's gateway server), SigV4 and bearer tokens against a stub that records what arrived on the wire."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials

from batonflow.api.auth import TOKEN_TTL_S
from batonflow.emulator.gateway import HttpRequest, HttpResponse
from batonflow.emulator.http_server import GatewayServer
from batonflow.sdk import BatonApiError, BatonClient
from tests.support.clock import FakeClock
from tests.support.stack import Harness, moto_harness

KEY_ID, SECRET = "sdk-key", "s3cret-of-sdk-key"
FLOW = {"name": "auth_flow", "version": 1, "tasks": [{"name": "auth_work", "taskReferenceName": "work"}]}
RENEWAL_S = 45 * 60


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The stack with API-key auth on: the one place that knows how keys are configured."""
    with moto_harness(monkeypatch, parameters={"AuthMode": "KEY"}) as stack:
        stack.runtime.app_keys.create(stack.clock(), KEY_ID, SECRET)
        yield stack


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    token: str | None  # the X-Authorization header
    status: int


@contextmanager
def served(harness: Harness) -> Iterator[tuple[str, list[Call]]]:
    """The harness's gateway over HTTP; yields its URL and the calls it answered, in order."""
    calls: list[Call] = []
    handle = harness.gateway.handle

    def recording(request: HttpRequest) -> HttpResponse:
        response = handle(request)
        token = next((v for k, v in request.headers if k.lower() == "x-authorization"), None)
        calls.append(Call(request.method, request.path, token, response.status))
        return response

    harness.gateway.handle = recording  # type: ignore[method-assign]
    with GatewayServer(harness.gateway) as server:
        yield server.url, calls


@pytest.fixture
def client_clock() -> FakeClock:
    """The client's clock, apart from the server's: the tests decide which of the two moves."""
    return FakeClock()


def key_client(url: str, clock: FakeClock, secret: str = SECRET) -> BatonClient:
    return BatonClient(url, api_key=(KEY_ID, secret), clock=lambda: clock() / 1000, retries=0)


def test_the_first_request_fetches_a_token_that_later_requests_reuse(
    secured: Harness, client_clock: FakeClock
) -> None:
    with served(secured) as (url, calls), key_client(url, client_clock) as client:
        client.register_workflow_def(FLOW)
        workflow_id = client.start_workflow("auth_flow", {"n": 1})

    token_call, register, start = calls
    assert (token_call.method, token_call.path, token_call.token, token_call.status) == (
        "POST",
        "/api/token",
        None,
        200,
    )
    assert [(c.method, c.path, c.status) for c in (register, start)] == [
        ("PUT", "/api/metadata/workflow", 200),
        ("POST", "/api/workflow/auth_flow", 200),
    ]
    assert register.token and start.token == register.token
    assert workflow_id


def test_a_token_45_minutes_old_is_renewed_before_the_server_refuses_it(
    secured: Harness, client_clock: FakeClock
) -> None:
    with served(secured) as (url, calls), key_client(url, client_clock) as client:
        client.register_workflow_def(FLOW)
        for clock in (secured.clock, client_clock):
            clock.advance(RENEWAL_S - 1)
        client.register_workflow_def(FLOW)
        for clock in (secured.clock, client_clock):
            clock.advance(1)
        client.register_workflow_def(FLOW)

    assert [(c.path, c.status) for c in calls] == [
        ("/api/token", 200),
        ("/api/metadata/workflow", 200),
        ("/api/metadata/workflow", 200),
        ("/api/token", 200),
        ("/api/metadata/workflow", 200),
    ]
    first, old, renewed = (c.token for c in calls if c.path != "/api/token")
    assert old == first
    assert renewed and renewed != first


def test_an_expired_token_is_renewed_once_and_the_refused_post_sent_again(
    secured: Harness, client_clock: FakeClock
) -> None:
    with served(secured) as (url, calls), key_client(url, client_clock) as client:
        client.register_workflow_def(FLOW)
        secured.clock.advance(TOKEN_TTL_S)  # only the server's: its clock says the token is an hour old
        workflow_id = client.start_workflow("auth_flow", {"n": 1})
        workflow = client.get_workflow(workflow_id)

    assert [(c.method, c.path, c.status) for c in calls] == [
        ("POST", "/api/token", 200),
        ("PUT", "/api/metadata/workflow", 200),
        ("POST", "/api/workflow/auth_flow", 401),
        ("POST", "/api/token", 200),
        ("POST", "/api/workflow/auth_flow", 200),
        ("GET", f"/api/workflow/{workflow_id}", 200),
    ]
    refused, repeated = calls[2], calls[4]
    assert refused.token == calls[1].token
    assert repeated.token and repeated.token != refused.token
    assert workflow["input"] == {"n": 1}


def test_a_wrong_secret_raises_the_401_without_asking_again(
    secured: Harness, client_clock: FakeClock
) -> None:
    with (
        served(secured) as (url, calls),
        key_client(url, client_clock, secret="wrong") as client,
        pytest.raises(BatonApiError) as raised,
    ):
        client.register_workflow_def(FLOW)

    assert (raised.value.status, raised.value.retryable) == (401, False)
    assert [(c.method, c.path, c.status) for c in calls] == [("POST", "/api/token", 401)]


def test_an_open_server_is_used_without_a_token(harness: Harness, client_clock: FakeClock) -> None:
    with served(harness) as (url, calls), key_client(url, client_clock) as client:
        client.register_workflow_def(FLOW)
        client_clock.advance(RENEWAL_S)
        workflow_id = client.start_workflow("auth_flow")

    assert [(c.method, c.path, c.token, c.status) for c in calls] == [
        ("POST", "/api/token", None, 404),
        ("PUT", "/api/metadata/workflow", None, 200),
        ("POST", "/api/workflow/auth_flow", None, 200),
    ]
    assert workflow_id


@dataclass(frozen=True)
class Arrived:
    method: str
    target: str  # path and query as sent
    headers: dict[str, str]  # lower-case names
    body: bytes


@pytest.fixture
def wire() -> Iterator[tuple[str, list[Arrived]]]:
    """A stub server answering 200 ``{}`` to everything; yields its URL and what it received."""
    arrived: list[Arrived] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            arrived.append(Arrived(self.command, self.path, headers, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", arrived
    server.shutdown()
    server.server_close()
    thread.join(5)


AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def verify_sigv4(url: str, request: Arrived, credentials: ReadOnlyCredentials) -> re.Match[str]:
    """What API Gateway does: recompute the signature from what arrived and the caller's credentials."""
    match = AUTHORIZATION.fullmatch(request.headers["authorization"])
    assert match, request.headers["authorization"]
    signed_names = match["signed"].split(";")
    assert {"host", "x-amz-date", "content-type"} <= set(signed_names)
    recomputed = AWSRequest(
        request.method,
        url + request.target,
        headers={name: request.headers[name] for name in signed_names},
        data=request.body,
    )
    recomputed.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(credentials, "execute-api", match["region"])
    string_to_sign = signer.string_to_sign(recomputed, signer.canonical_request(recomputed))
    assert signer.signature(string_to_sign, recomputed) == match["signature"]
    assert match["date"] == request.headers["x-amz-date"][:8]
    return match


def test_iam_signs_every_request_with_sigv4_for_execute_api(wire: tuple[str, list[Arrived]]) -> None:
    url, arrived = wire
    credentials = Credentials("AKIDSESSION", "session-secret", "session-token")
    with BatonClient(url, aws_iam=credentials, region="eu-west-1") as client:
        client.start_workflow("my/flow", {"name": "Ada Lovelace"}, correlation_id="order 42")
        client.get_workflow("wf-1")

    post, get = arrived
    assert post.target == "/api/workflow/my%2Fflow?correlationId=order%2042"
    for request in (post, get):
        match = verify_sigv4(url, request, credentials.get_frozen_credentials())
        assert (match["key"], match["region"]) == ("AKIDSESSION", "eu-west-1")
        assert request.headers["x-amz-security-token"] == "session-token"
        assert "x-amz-security-token" in match["signed"].split(";")


def test_iam_rereads_refreshable_credentials_on_each_request(wire: tuple[str, list[Arrived]]) -> None:
    url, arrived = wire
    issued: dict[str, ReadOnlyCredentials] = {}

    def refresh() -> dict[str, str]:
        # always inside botocore's mandatory refresh window, so every use asks for new credentials
        credentials = ReadOnlyCredentials(
            f"AKID{len(issued)}", f"secret-{len(issued)}", f"token-{len(issued)}"
        )
        issued[credentials.access_key] = credentials
        expiry = datetime.now(UTC) + timedelta(minutes=1)
        return {**credentials._asdict(), "expiry_time": expiry.isoformat()}

    credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    with BatonClient(url, aws_iam=credentials, region="us-east-2") as client:
        client.get_workflow("wf-1")
        client.get_workflow("wf-1")

    first, second = arrived
    assert verify_sigv4(url, first, issued["AKID1"])["key"] == "AKID1"
    assert verify_sigv4(url, second, issued["AKID2"])["key"] == "AKID2"
    assert (first.headers["x-amz-security-token"], second.headers["x-amz-security-token"]) == (
        "token-1",
        "token-2",
    )


def test_jwt_sends_the_bearer_token(wire: tuple[str, list[Arrived]]) -> None:
    url, arrived = wire
    with BatonClient(url, bearer_token="static.jwt") as client:
        client.get_workflow("wf-1")
        client.terminate_workflow("wf-1")

    assert [request.headers["authorization"] for request in arrived] == ["Bearer static.jwt"] * 2
    assert all("x-authorization" not in request.headers for request in arrived)


def test_jwt_asks_the_token_function_on_each_request(wire: tuple[str, list[Arrived]]) -> None:
    url, arrived = wire
    tokens = ["jwt-1", "jwt-2"]
    with BatonClient(url, bearer_token=lambda: tokens.pop(0)) as client:
        client.get_workflow("wf-1")
        client.start_workflow("greetings")

    assert [request.headers["authorization"] for request in arrived] == ["Bearer jwt-1", "Bearer jwt-2"]
