"""The embedded AWS endpoint: moto's WSGI application on loopback, with keep-alive connections
(:mod:`batonflow.emulator.http_server`; moto's own threaded server closes every connection).

moto keeps its state in process-wide backends, so every moto server started in one process (and
``moto.mock_aws``) sees the same tables and queues; a second server is a second *door*, not a second
account. Tests that want isolation use distinct stack names or :meth:`MotoServer.reset`.
"""

from __future__ import annotations

import urllib.request
from types import TracebackType

from moto.server import DomainDispatcherApplication, create_backend_app

from batonflow.emulator import moto_speedups, moto_sqs_index
from batonflow.emulator.errors import EmulatorError
from batonflow.emulator.http_server import HttpServer, wsgi_responder

DEFAULT_HOST = "127.0.0.1"


class MotoServer:
    """Start and stop a moto server bound to ``host`` (loopback unless told otherwise).

    ``port=0`` picks a free port; :attr:`endpoint_url` tells which. moto binds ``0.0.0.0`` by default,
    which would expose an unauthenticated AWS look-alike to the network — we never do that implicitly.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: HttpServer | None = None
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise EmulatorError("the moto server is not running")
        return self._endpoint_url

    def start(self) -> str:
        """Start serving and return the endpoint URL, e.g. ``http://127.0.0.1:41234``."""
        if self._server is not None:
            return self.endpoint_url
        moto_speedups.install()
        moto_sqs_index.install()
        server = HttpServer(
            wsgi_responder(DomainDispatcherApplication(create_backend_app)),
            self._host,
            self._port,
            name="baton-moto",
            daemon_connections=True,
        )
        self._endpoint_url = server.start()
        self._server = server
        return self._endpoint_url

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        self._endpoint_url = None

    def reset(self) -> None:
        """Forget every resource in every moto backend of this process (moto's ``/moto-api/reset``)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
