"""`baton up --demo` as a user runs it: a subprocess that prints where it is, shows a workflow complete,
and stops cleanly on Ctrl-C — on its embedded moto server, and on an external endpoint found the way
`--localstack` finds LocalStack (a second moto server stands in for LocalStack, which cannot run here)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Mapping

import boto3
import pytest
import requests

from batonflow.emulator.moto_server import MotoServer

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_demo(port: int, *options: str, environ: Mapping[str, str], interrupts: int = 1) -> str:
    """Run `baton up --demo`, wait for its workflow to complete, check the API, stop it with Ctrl-C (pressed
    again while it stops, with ``interrupts=2``); returns everything it printed."""
    baton = shutil.which("baton")
    assert baton, "the `baton` command is installed by `pip install -e .`"
    process = subprocess.Popen(
        [baton, "up", "--demo", "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**environ, "COLUMNS": "200"},
    )
    lines: list[str] = []
    completed, stopping = threading.Event(), threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Workflow COMPLETED" in line:
                completed.set()
            if "Stopping..." in line:
                stopping.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert completed.wait(90), "".join(lines)
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json() == {"healthy": True}
        process.send_signal(signal.SIGINT)
        if interrupts == 2:
            assert stopping.wait(30), "".join(lines)
            process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(5)
    output = "".join(lines)
    assert "Stopped." in output
    return output


def test_baton_up_demo_shows_a_workflow_completing_and_stops_on_ctrl_c_even_pressed_twice():
    port = free_port()
    output = run_demo(port, environ=os.environ, interrupts=2)
    assert f"http://127.0.0.1:{port}/api" in output
    assert "BATON_QUEUE_PREFIX=baton-dev-" in output
    assert "HELLO, BATON!" in output


def test_baton_up_localstack_provisions_and_runs_on_the_endpoint_localstack_host_names():
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    with MotoServer() as localstack:
        host_and_port = localstack.endpoint_url.removeprefix("http://")
        output = run_demo(
            free_port(),
            "--localstack",
            "--stack-name",
            "on-ls",
            environ={**environ, "LOCALSTACK_HOST": host_and_port},
        )
        assert f"AWS (local) {localstack.endpoint_url}" in output
        assert "HELLO, BATON!" in output
        session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
        )
        tables = session.client("dynamodb", endpoint_url=localstack.endpoint_url).list_tables()["TableNames"]
        assert any(name.startswith("on-ls-") for name in tables)
