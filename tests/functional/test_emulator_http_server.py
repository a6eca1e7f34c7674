"""The emulator's HTTP server: keep-alive connections, Nagle off, WSGI applications (moto) behind it."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from batonflow.emulator import HttpRequest, HttpResponse, MotoServer
from batonflow.emulator.http_server import HttpServer, wsgi_responder
from batonflow.infra.resources import AwsClients

REGION = "us-east-1"


def connection_to(server: HttpServer | MotoServer) -> http.client.HTTPConnection:
    url = server.url if isinstance(server, HttpServer) else server.endpoint_url
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=5)


def exchange(connection: http.client.HTTPConnection, method: str, path: str, body: bytes = b"") -> Any:
    connection.request(method, path, body=body or None)
    response = connection.getresponse()
    return response, response.read()


@pytest.fixture
def echo() -> Iterator[HttpServer]:
    """Answers with what it got; ``/fail`` raises."""

    def respond(request: HttpRequest) -> HttpResponse:
        if request.path == "/fail":
            raise RuntimeError("boom")
        got = {"method": request.method, "path": request.path, "body": request.body.decode()}
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(got).encode())

    with HttpServer(respond) as server:
        yield server


def test_one_connection_carries_many_requests_even_when_a_body_goes_unread(echo: HttpServer) -> None:
    connection = connection_to(echo)

    first, _ = exchange(connection, "POST", "/a", b"x" * 10_000)
    socket_after_first = connection.sock
    second, second_body = exchange(connection, "GET", "/b")

    assert (first.status, second.status) == (200, 200)
    assert first.getheader("Connection") is None
    assert connection.sock is socket_after_first
    assert json.loads(second_body) == {"method": "GET", "path": "/b", "body": ""}
    connection.close()


def test_a_failing_responder_answers_500_and_keeps_the_connection(echo: HttpServer) -> None:
    connection = connection_to(echo)

    failed, failed_body = exchange(connection, "GET", "/fail")
    after, _ = exchange(connection, "GET", "/ok")

    assert (failed.status, failed_body) == (500, b"internal error")
    assert after.status == 200
    connection.close()


def test_connections_send_without_waiting_for_acknowledgements(echo: HttpServer) -> None:
    """Nagle's algorithm off: a response's head and body are two writes, and with it on the body waited
    for the client's delayed acknowledgement of the head (about 40 ms a request). A test of the delay
    itself would be a timing test; this checks the socket option on the server's side of the connection.
    """
    connection = connection_to(echo)
    exchange(connection, "GET", "/a")

    server_sockets = list(echo._server._connections)  # type: ignore[union-attr]

    assert server_sockets
    assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in server_sockets)
    connection.close()


def test_wsgi_applications_get_a_decoded_path_the_query_headers_and_body() -> None:
    seen: dict[str, Any] = {}
    closed = threading.Event()

    class Body(list[bytes]):
        def close(self) -> None:
            closed.set()

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        seen.update(
            path=environ["PATH_INFO"],
            query=environ["QUERY_STRING"],
            host=environ["HTTP_HOST"],
            target=environ.get("HTTP_X_AMZ_TARGET"),
            body=environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])),
        )
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Answer", "42")])
        return Body([b"made ", b"it"])

    respond = wsgi_responder(app)
    response = respond(
        HttpRequest(
            method="POST",
            path="/bucket/my%20key",
            query="a=1&b=%2F",
            headers=[("Host", "127.0.0.1:4566"), ("X-Amz-Target", "Svc.Op")],
            body=b"payload",
        )
    )

    assert seen == {
        "path": "/bucket/my key",
        "query": "a=1&b=%2F",
        "host": "127.0.0.1:4566",
        "target": "Svc.Op",
        "body": b"payload",
    }
    assert (response.status, response.body, response.header("X-Answer")) == (201, b"made it", "42")
    assert closed.is_set()


def test_the_moto_server_keeps_an_aws_client_on_one_connection() -> None:
    with MotoServer() as server:
        connection = connection_to(server)
        first, _ = exchange(connection, "GET", "/moto-api/data.json")
        socket_after_first = connection.sock
        second, _ = exchange(connection, "GET", "/moto-api/data.json")
        sqs = AwsClients.for_endpoint(server.endpoint_url, region=REGION).sqs
        url = sqs.create_queue(QueueName="keep-alive")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        received = sqs.receive_message(QueueUrl=url)["Messages"]

        assert (first.status, second.status) == (200, 200)
        assert first.getheader("Connection") is None
        assert connection.sock is socket_after_first
        assert [message["Body"] for message in received] == ["hello"]
        connection.close()


def test_a_head_request_to_moto_tells_the_length_of_what_a_get_would_answer() -> None:
    with MotoServer() as server:
        s3 = AwsClients.for_endpoint(server.endpoint_url, region=REGION).s3
        s3.create_bucket(Bucket="heads")
        s3.put_object(Bucket="heads", Key="five", Body=b"12345")

        assert s3.head_object(Bucket="heads", Key="five")["ContentLength"] == 5
        assert s3.get_object(Bucket="heads", Key="five")["Body"].read() == b"12345"


def test_a_server_of_daemon_connections_stops_without_waiting_for_a_request_in_progress() -> None:
    """As the moto server does: an SQS long poll may hold its connection for 20 s."""
    entered, release = threading.Event(), threading.Event()

    def respond(request: HttpRequest) -> HttpResponse:
        entered.set()
        release.wait(30)
        return HttpResponse(200)

    server = HttpServer(respond, daemon_connections=True)
    server.start()
    client = threading.Thread(target=lambda: _quietly(exchange, connection_to(server), "GET", "/poll"))
    client.start()
    assert entered.wait(5)

    stopping = threading.Thread(target=server.stop)
    stopping.start()
    stopping.join(10)
    stopped_while_busy = not stopping.is_alive()
    release.set()
    client.join(10)

    assert stopped_while_busy


def _quietly(call: Any, *args: Any) -> None:
    with contextlib.suppress(OSError):
        call(*args)
