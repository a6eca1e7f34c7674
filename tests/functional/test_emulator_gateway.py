"""The API Gateway emulation: HTTP API payload v2.0 events, routing and response mapping.

Most tests call :class:`LocalGateway` directly (no sockets); the last ones go through the HTTP server.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.shared.cookies import Cookie

from batonflow.emulator import GatewayServer, HttpRequest, LocalGateway, Route

NOW_S = 1_700_000_000.123

Handler = Callable[[dict[str, Any]], Any]


class Recorder:
    """A stub function: records events, returns ``result`` (or calls it with the event)."""

    def __init__(self, result: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.result = result

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return self.result(event) if callable(self.result) else self.result

    @property
    def event(self) -> dict[str, Any]:
        (event,) = self.events
        return event


def gateway(api: Handler, health: Handler | None = None, routes: list[Route] | None = None) -> LocalGateway:
    routes = routes or [Route("ANY", "/api/{proxy+}", "Api"), Route("GET", "/health", "Health")]
    return LocalGateway(
        routes,
        {"Api": api, "Health": health or api},
        api_id="abc123defg",
        account_id="111122223333",
        clock=lambda: NOW_S,
        new_id=lambda: "req-1",
    )


def test_a_request_becomes_a_v2_event() -> None:
    api = Recorder({"statusCode": 204})
    request = HttpRequest(
        method="POST",
        path="/api/workflow/my%20flow",
        query="version=2&tag=a&tag=b&empty=",
        headers=[
            ("Host", "127.0.0.1:8080"),
            ("Content-Type", "application/json"),
            ("User-Agent", "conductor-python"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "a=1; b=2"),
            ("Connection", "keep-alive"),
        ],
        body=b'{"x": 1}',
        source_ip="10.0.0.9",
    )

    gateway(api).handle(request)

    assert api.event == {
        "version": "2.0",
        "routeKey": "ANY /api/{proxy+}",
        "rawPath": "/api/workflow/my flow",
        "rawQueryString": "version=2&tag=a&tag=b&empty=",
        "cookies": ["a=1", "b=2"],
        "headers": {
            "host": "127.0.0.1:8080",
            "content-type": "application/json",
            "user-agent": "conductor-python",
            "x-multi": "1,2",
            "x-forwarded-for": "10.0.0.9",
            "x-forwarded-proto": "http",
            "x-forwarded-port": "8080",
        },
        "queryStringParameters": {"version": "2", "tag": "a,b", "empty": ""},
        "pathParameters": {"proxy": "workflow/my flow"},
        "requestContext": {
            "accountId": "111122223333",
            "apiId": "abc123defg",
            "domainName": "127.0.0.1:8080",
            "domainPrefix": "127",
            "http": {
                "method": "POST",
                "path": "/api/workflow/my flow",
                "protocol": "HTTP/1.1",
                "sourceIp": "10.0.0.9",
                "userAgent": "conductor-python",
            },
            "requestId": "req-1",
            "routeKey": "ANY /api/{proxy+}",
            "stage": "$default",
            "time": "14/Nov/2023:22:13:20 +0000",
            "timeEpoch": 1_700_000_000_123,
        },
        "body": '{"x": 1}',
        "isBase64Encoded": False,
    }


def test_optional_fields_are_omitted_when_empty() -> None:
    health = Recorder({"statusCode": 200, "body": "ok"})

    gateway(Recorder(), health).handle(HttpRequest(method="GET", path="/health"))

    assert {"cookies", "queryStringParameters", "pathParameters", "body"}.isdisjoint(health.event)
    assert health.event["isBase64Encoded"] is False
    assert health.event["routeKey"] == "GET /health"


def test_binary_bodies_are_base64_encoded() -> None:
    api = Recorder({"statusCode": 200})
    payload = bytes(range(256))

    gateway(api).handle(
        HttpRequest.build(
            "PUT", "/api/blob", body=payload, headers={"Content-Type": "application/octet-stream"}
        )
    )

    assert api.event["isBase64Encoded"] is True
    assert base64.b64decode(api.event["body"]) == payload


def test_duplicate_slashes_are_collapsed() -> None:
    api = Recorder({"statusCode": 200})

    gateway(api).handle(HttpRequest.build("GET", "//api//tasks/poll/batch/simple?count=2"))

    assert api.event["rawPath"] == "/api/tasks/poll/batch/simple"
    assert api.event["pathParameters"] == {"proxy": "tasks/poll/batch/simple"}


def test_a_newline_in_the_path_is_routed_like_any_character() -> None:
    api = Recorder({"statusCode": 200})

    gateway(api).handle(HttpRequest.build("GET", "/api/tasks/a%0Ab"))

    assert api.event["pathParameters"] == {"proxy": "tasks/a\nb"}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/items/special", "GET /items/special"),
        ("POST", "/items/special", "ANY /items/special"),
        ("GET", "/items/42", "GET /items/{id}"),
        ("GET", "/items/42/parts/7", "ANY /items/{proxy+}"),
        ("DELETE", "/anything/else", "ANY /{proxy+}"),
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, expected: str) -> None:
    seen = Recorder(lambda event: {"statusCode": 200, "body": event["routeKey"]})
    routes = [
        Route("ANY", "/{proxy+}", "Api"),
        Route("ANY", "/items/{proxy+}", "Api"),
        Route("GET", "/items/{id}", "Api"),
        Route("ANY", "/items/special", "Api"),
        Route("GET", "/items/special", "Api"),
    ]

    response = gateway(seen, routes=routes).handle(HttpRequest.build(method, path))

    assert response.text == expected


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("POST", "/health"), ("GET", "/api")])
def test_unknown_routes_are_404_like_api_gateway(method: str, path: str) -> None:
    api = Recorder()

    response = gateway(api).handle(HttpRequest.build(method, path))

    assert (response.status, response.json(), response.header("content-type")) == (
        404,
        {"message": "Not Found"},
        "application/json",
    )
    assert api.events == []


def test_a_structured_response_maps_to_http() -> None:
    api = Recorder(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Thing": "1"},
            "multiValueHeaders": {"X-Ignored": ["a", "b"]},
            "cookies": ["s=1; HttpOnly", "t=2"],
            "body": "created",
        }
    )

    response = gateway(api).handle(HttpRequest.build("POST", "/api/x"))

    assert response.status == 201
    assert response.text == "created"
    assert response.header("content-type") == "text/plain"
    assert response.header("x-thing") == "1"
    assert response.header("x-ignored") is None
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["s=1; HttpOnly", "t=2"]
    assert response.header("apigw-requestid") == "req-1"


def test_a_base64_response_body_is_decoded() -> None:
    api = Recorder(
        {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"\x00\xff").decode()}
    )

    response = gateway(api).handle(HttpRequest.build("GET", "/api/x"))

    assert response.body == b"\x00\xff"
    assert response.header("content-type") == "application/json"


@pytest.mark.parametrize("result", [{"workflowId": "w1"}, "w1", ["a", 1], None])
def test_anything_but_a_structured_response_is_200_json(result: Any) -> None:
    response = gateway(Recorder(result)).handle(HttpRequest.build("GET", "/api/x"))

    assert (response.status, response.header("content-type"), response.json()) == (
        200,
        "application/json",
        result,
    )


@pytest.mark.parametrize(
    "behaviour",
    [
        lambda event: 1 / 0,
        {"statusCode": "not a number"},
        {"statusCode": 99},
        {"statusCode": 200, "isBase64Encoded": True, "body": "***"},
    ],
)
def test_failures_and_malformed_responses_are_500(behaviour: Any) -> None:
    response = gateway(Recorder(behaviour)).handle(HttpRequest.build("GET", "/api/x"))

    assert (response.status, response.json()) == (500, {"message": "Internal Server Error"})


@pytest.fixture
def served() -> Any:
    def api(event: dict[str, Any]) -> dict[str, Any]:
        body = json.loads(event["body"]) if "body" in event else None
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"path": event["rawPath"], "got": body}),
        }

    server = GatewayServer(gateway(api))
    server.start()
    yield server
    server.stop()


def test_the_http_server_serves_the_gateway(served: GatewayServer) -> None:
    request = urllib.request.Request(
        f"{served.url}/api/workflow/demo",
        data=json.dumps({"a": 1}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )

    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"path": "/api/workflow/demo", "got": {"a": 1}}


def test_the_http_server_keeps_connections_alive_and_stops_cleanly(served: GatewayServer) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    thread_name = f"baton-gateway-{port}"
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    statuses = []
    for path in ("/api/one", "/nope"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    threads_before_stop = {t.name for t in threading.enumerate()}

    served.stop()

    assert statuses == [200, 404]
    assert thread_name in threads_before_stop
    assert thread_name not in {t.name for t in threading.enumerate()}
    connection.close()


def test_events_are_understood_by_powertools_resolver() -> None:
    app = APIGatewayHttpResolver()

    @app.post("/api/workflow/<name>")
    def start(name: str) -> dict[str, Any]:
        event = app.current_event
        return {"name": name, "query": event.query_string_parameters, "body": event.json_body}

    @app.get("/api/blob")
    def blob() -> Response:
        return Response(200, "application/octet-stream", b"\x00\x01", cookies=[Cookie("s", "1")])

    local = gateway(lambda event: app.resolve(event, None))

    started = local.handle(
        HttpRequest.build("POST", "/api/workflow/my%20flow?x=1&x=2", json_body={"input": {"a": 1}})
    )
    binary = local.handle(HttpRequest.build("GET", "/api/blob"))

    assert started.json() == {"name": "my flow", "query": {"x": "1,2"}, "body": {"input": {"a": 1}}}
    assert (binary.body, binary.header("content-type")) == (b"\x00\x01", "application/octet-stream")
    assert binary.header("set-cookie") == "s=1; Secure"
