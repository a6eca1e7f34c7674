"""`baton up --demo` as a user runs it: a subprocess that prints where it is, shows a workflow complete,
and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading

import pytest
import requests

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_baton_up_demo_shows_a_workflow_completing_and_stops_on_ctrl_c():
    baton = shutil.which("baton")
    assert baton, "the `baton` command is installed by `pip install -e .`"
    port = free_port()
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen(
        [baton, "up", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    completed = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Workflow COMPLETED" in line:
                completed.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert completed.wait(90), "".join(lines)
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/api" in output
        assert "BATON_QUEUE_PREFIX=baton-dev-" in output
        assert "HELLO, BATON!" in output
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json() == {"healthy": True}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(5)
    assert "Stopped." in "".join(lines)
