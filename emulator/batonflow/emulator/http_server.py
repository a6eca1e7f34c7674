"""Serve HTTP on loopback with the standard library: the local API Gateway, and moto's WSGI application.

HTTP/1.1 with keep-alive (workers poll in a loop, and every AWS call is a request; reconnecting per request
would dominate), one thread per connection, bound to loopback unless told otherwise. Nagle's algorithm is
off: a response goes out as two writes (head, then body), and with it on the body waited for the client's
delayed acknowledgement of the head, about 40 ms on every request. :meth:`HttpServer.stop` closes idle
keep-alive connections and, unless the server runs its connections in daemon threads, joins them, so a
stopped stack leaves nothing running.

moto ships werkzeug's development server, which closes the connection after every response, so each
call paid a new TCP connection and a new server thread; :func:`wsgi_responder` serves moto's WSGI
application from this server instead.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from werkzeug.test import EnvironBuilder, run_wsgi_app

from batonflow.emulator.errors import EmulatorError
from batonflow.emulator.gateway import HttpRequest, HttpResponse, LocalGateway

logger = logging.getLogger(__name__)

_IDLE_CONNECTION_TIMEOUT_S = 60
_HOP_BY_HOP = ("content-length", "connection", "transfer-encoding", "keep-alive")

Responder = Callable[[HttpRequest], HttpResponse]
"""What a server answers a request with."""


class HttpServer:
    """``ThreadingHTTPServer`` in a background thread, answering every request with ``respond``.

    ``daemon_connections`` runs connections in daemon threads that :meth:`stop` does not wait for: for a
    server whose requests may block for long (SQS long polls wait up to 20 s)."""

    def __init__(
        self,
        respond: Responder,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "baton-http",
        daemon_connections: bool = False,
    ) -> None:
        self._respond = respond
        self._host = host
        self._port = port
        self._name = name
        self._daemon_connections = daemon_connections
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` with the port actually bound."""
        if self._server is None:
            raise EmulatorError(f"the {self._name} server is not running")
        host, port = self._server.server_address[:2]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def start(self) -> str:
        if self._server is None:
            self._server = _Server((self._host, self._port), self._respond, self._daemon_connections)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"{self._name}-{self._server.server_address[1]}",
                daemon=self._daemon_connections,
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> HttpServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class GatewayServer(HttpServer):
    """The local API Gateway over HTTP."""

    def __init__(self, gateway: LocalGateway, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(gateway.handle, host, port, name="baton-gateway")


def wsgi_responder(app: Callable[..., Any]) -> Responder:
    """Answer requests with a WSGI application (werkzeug builds the environ and runs the app)."""

    def respond(request: HttpRequest) -> HttpResponse:
        headers = [(name, value) for name, value in request.headers if name.lower() not in _HOP_BY_HOP]
        host = next((value for name, value in headers if name.lower() == "host"), "localhost")
        environ = EnvironBuilder(
            path=request.path,
            base_url=f"http://{host}",
            query_string=request.query,
            method=request.method,
            headers=headers,
            data=request.body,
            environ_overrides={"REMOTE_ADDR": request.source_ip, "SERVER_PROTOCOL": request.protocol},
        ).get_environ()
        # buffered: werkzeug reads the whole body and calls the app's close() itself
        body, status, response_headers = run_wsgi_app(app, environ, buffered=True)
        return HttpResponse(int(status.split(" ", 1)[0]), list(response_headers.items()), b"".join(body))

    return respond


class _Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], respond: Responder, daemon_connections: bool) -> None:
        self.respond = respond
        self.daemon_threads = daemon_connections
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone (or a connection shut by :meth:`HttpServer.stop`) is not an error worth a trace."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("connection from %s dropped", client_address)
        else:
            super().handle_error(request, client_address)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake threads blocked on idle keep-alive connections so ``server_close`` can join them."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # Already closed by the client: nothing to wake.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = _IDLE_CONNECTION_TIMEOUT_S
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def _dispatch(self) -> None:
        target = self.path
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        request = HttpRequest(
            method=self.command,
            path=path,
            query=query,
            headers=list(self.headers.items()),
            body=self._read_body(),
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        try:
            response = self.server.respond(request)
        except Exception:
            logger.exception("%s %s failed", self.command, path)
            response = HttpResponse(500, [("Content-Type", "text/plain")], b"internal error")
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        # A HEAD answer has no body but tells the length a GET would have (S3's HeadObject reads it).
        declared = response.header("content-length") if self.command == "HEAD" else None
        self.send_header("Content-Length", declared or str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)
