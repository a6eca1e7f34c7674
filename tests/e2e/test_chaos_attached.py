"""``baton chaos --url``: a chaos run against a stack someone else started (``baton up --faults ...``),
its workers on the queues that stack's banner prints, as a user would run the two in two terminals."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests

from tests.e2e.test_cli_up import free_port

pytestmark = pytest.mark.e2e

_EXPORT = re.compile(r"export (\w+)=(\S+)")


@pytest.mark.timeout(120)
def test_a_chaos_run_attached_to_a_running_stack_with_faults_is_all_correct():
    baton = shutil.which("baton")
    assert baton, "the `baton` command is installed by `pip install -e .`"
    port = free_port()
    stack = subprocess.Popen(
        [
            baton,
            "up",
            "--port",
            str(port),
            "--stack-name",
            "baton-attach",
            "--api-concurrency",
            "2",
            "--faults",
            "duplicate=0.3,reorder=0.5,throttle=0.05",
            "--seed",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert stack.stdout is not None
        for line in stack.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(60), "".join(lines)
        assert "Injecting faults" in "".join(lines)
        exports = dict(_EXPORT.findall("".join(lines)))
        assert "BATON_QUEUE_PREFIX" in exports, "".join(lines)
        started = time.monotonic()

        chaos = subprocess.run(
            [
                baton,
                "chaos",
                "--url",
                f"http://127.0.0.1:{port}",
                "--workflows",
                "10",
                "--seed",
                "3",
                "--json",
                "--deadline",
                "60",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **exports},
            timeout=90,
        )

        took = time.monotonic() - started
        assert chaos.returncode == 0, chaos.stdout + chaos.stderr
        figures = json.loads(chaos.stdout.strip().splitlines()[-1])
        assert figures["workflows"] == figures["completed_correct"] == 10, figures["failures"]
        assert (
            figures["wrong_output"],
            figures["lost"],
            figures["stuck"],
            figures["double_completions"],
        ) == (
            0,
            0,
            0,
            0,
        )
        assert figures["url"] == f"http://127.0.0.1:{port}"
        assert figures["faults"] == "the attached stack's"
        assert len(figures["by_kind"]) == 9
        # the run's workflows are on the attached stack, not on one of its own
        found = requests.get(
            f"http://127.0.0.1:{port}/api/workflow/search",
            params={"query": "workflowType IN (chaos_simple)"},
            timeout=10,
        ).json()
        assert found["totalHits"] >= 1
        assert took < 60
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
