"""The thread behind each event source of the local stack (SQS and stream pollers, schedules, TTL sweeps)."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """A daemon thread running :meth:`_run` until :meth:`stop`; :meth:`join` waits for it to end."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop after its current round."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError
