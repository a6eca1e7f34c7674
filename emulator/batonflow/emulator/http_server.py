"""Serve a :class:`~batonflow.emulator.gateway.LocalGateway` over HTTP with the standard library.

HTTP/1.1 with keep-alive (workers poll in a loop; reconnecting per request would dominate), one thread
per connection, bound to loopback unless told otherwise. :meth:`GatewayServer.stop` closes idle
keep-alive connections and joins every connection thread, so a stopped stack leaves nothing running.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from batonflow.emulator.errors import EmulatorError
from batonflow.emulator.gateway import HttpRequest, LocalGateway

logger = logging.getLogger(__name__)

_IDLE_CONNECTION_TIMEOUT_S = 60


class GatewayServer:
    """``ThreadingHTTPServer`` in a background thread in front of a gateway."""

    def __init__(self, gateway: LocalGateway, host: str = "127.0.0.1", port: int = 0) -> None:
        self._gateway = gateway
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` with the port actually bound."""
        if self._server is None:
            raise EmulatorError("the gateway server is not running")
        host, port = self._server.server_address[:2]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def start(self) -> str:
        if self._server is None:
            self._server = _Server((self._host, self._port), self._gateway)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"baton-gateway-{self._server.server_address[1]}",
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

    def __enter__(self) -> GatewayServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], gateway: LocalGateway) -> None:
        self.gateway = gateway
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

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
        response = self.server.gateway.handle(request)
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
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
