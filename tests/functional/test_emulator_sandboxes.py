"""Sandbox processes: a function's invocations run concurrently in separate processes, as on Lambda.

The handler is a module written to a temporary directory; sandboxes are spawned with the test process's
``sys.path``, so they import it as the stack's handlers import theirs.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from batonflow.emulator import BatonStack, HandlerImportError, LambdaContext, MotoServer
from batonflow.emulator.errors import FunctionError, SandboxError
from batonflow.emulator.sandboxes import SandboxPool, SandboxProbe

HANDLER_MODULE = """
import os
import threading
import time

SEEN_AT_IMPORT = {name: os.environ.get(name) for name in ("BATON_TABLE", "AWS_ENDPOINT_URL", "SANDBOX_X")}


def handler(event, context):
    action = event.get("action") or event.get("rawPath", "/").rsplit("/", 1)[-1]
    if action == "crash":
        os._exit(3)
    if action == "raise":
        raise RuntimeError("boom")
    began = time.time()
    threading.Event().wait(event.get("hold_s", 0))  # stands in for work that takes a while
    return {
        "pid": os.getpid(),
        "environment": SEEN_AT_IMPORT,
        "context": [context.function_name, context.aws_request_id, context.memory_limit_in_mb],
        "remaining_ms": context.get_remaining_time_in_millis(),
        "interval": [began, time.time()],
    }
"""
PROBE_MODULE = """
import os
import sys


def start():
    handler_imported = "baton_sandbox_handler" in sys.modules
    invocations = []

    def observe():
        invocations.append(None)
        count = len(invocations)
        return {"pid": os.getpid(), "handler_imported_first": handler_imported, "invocations": count}

    return observe
"""
WAIT_S = 10


@pytest.fixture(scope="module")
def handler_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("sandbox_handler")
    (directory / "baton_sandbox_handler.py").write_text(HANDLER_MODULE)
    (directory / "baton_sandbox_probe.py").write_text(PROBE_MODULE)
    sys.path.insert(0, str(directory))
    yield "baton_sandbox_handler.handler"
    sys.path.remove(str(directory))


@pytest.fixture
def pool(handler_path: str) -> Iterator[SandboxPool]:
    running = SandboxPool(handler_path, {"SANDBOX_X": "from-the-pool"}, size=2, name="TestFunction").start()
    yield running
    running.stop()


def context(request_id: str = "req-1", timeout_s: float = 30) -> LambdaContext:
    return LambdaContext(
        function_name="baton-test-Fn",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:baton-test-Fn",
        memory_limit_in_mb="512",
        aws_request_id=request_id,
        deadline_s=time.time() + timeout_s,
    )


def sandbox_children() -> list[Any]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("baton-sandbox-")]


def test_the_handler_runs_in_another_process_under_the_given_environment(pool: SandboxPool) -> None:
    answer = pool({"action": "echo"}, context("req-42", timeout_s=30))

    assert answer["pid"] in pool.pids
    assert answer["pid"] != os.getpid()
    assert answer["environment"]["SANDBOX_X"] == "from-the-pool"
    assert answer["context"] == ["baton-test-Fn", "req-42", "512"]
    assert 0 < answer["remaining_ms"] <= 30_000


def test_invocations_run_at_the_same_time_in_different_sandboxes(pool: SandboxPool) -> None:
    with ThreadPoolExecutor(2) as threads:
        answers = list(threads.map(lambda _: pool({"hold_s": 1}, context()), range(2)))

    assert len({answer["pid"] for answer in answers}) == 2
    assert max(a["interval"][0] for a in answers) < min(a["interval"][1] for a in answers)


def test_a_raising_handler_is_a_function_error_and_its_sandbox_lives_on(pool: SandboxPool) -> None:
    before = pool.pids

    with pytest.raises(FunctionError, match="RuntimeError: boom"):
        pool({"action": "raise"}, context())

    assert pool.pids == before


def test_a_probe_starts_before_the_handler_and_reports_every_invocation_to_its_caller(
    handler_path: str,
) -> None:
    received: list[tuple[int, Any]] = []
    probe = SandboxProbe(
        start=importlib.import_module("baton_sandbox_probe").start,
        receive=lambda seen: received.append((threading.get_ident(), seen)),
    )
    with SandboxPool(handler_path, {}, size=1, name="Probed", probe=probe) as pool:
        answer = pool({"action": "echo"}, context())
        with pytest.raises(FunctionError):
            pool({"action": "raise"}, context())

    here = threading.get_ident()
    seen = {"pid": answer["pid"], "handler_imported_first": False}
    assert received == [(here, {**seen, "invocations": 1}), (here, {**seen, "invocations": 2})]


def test_a_dead_sandbox_fails_its_invocation_and_is_replaced(handler_path: str) -> None:
    with SandboxPool(handler_path, {}, size=1, name="Crashy") as pool:
        (first,) = pool.pids

        with pytest.raises(SandboxError, match="died"):
            pool({"action": "crash"}, context())
        answer = pool({"action": "echo"}, context())  # waits for the replacement

        assert answer["pid"] != first
        assert pool.pids == [answer["pid"]]


def test_a_handler_that_cannot_be_imported_fails_the_start_and_leaves_no_process() -> None:
    pool = SandboxPool("no_such_module_for_sandboxes.handler", {}, size=2, name="Broken")

    with pytest.raises(HandlerImportError, match="no_such_module_for_sandboxes"):
        pool.start()

    assert pool.pids == []
    assert sandbox_children() == []


def test_stop_ends_busy_sandboxes_and_fails_their_invocations(handler_path: str) -> None:
    pool = SandboxPool(handler_path, {}, size=1, name="Busy").start()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            pool({"hold_s": 60}, context())
        except SandboxError as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + WAIT_S
    while pool.idle and time.monotonic() < deadline:  # until the call has taken the only sandbox
        threading.Event().wait(0.01)
    pool.stop()
    caller.join(WAIT_S)

    assert not caller.is_alive()
    assert len(outcome) == 1
    assert sandbox_children() == []


@pytest.fixture(scope="module")
def external() -> Iterator[str]:
    with MotoServer() as server:
        yield server.endpoint_url


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=WAIT_S) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_stack_runs_its_api_function_in_sandboxes(external: str, handler_path: str) -> None:
    stack = BatonStack(
        endpoint_url=external,
        stack_name="sandboxed",
        handlers={"ApiFunction": handler_path},
        api_concurrency=2,
        start_pollers=False,
        start_schedules=False,
    )
    with stack:
        pools = [(pool.name, pool.size, len(pool.pids)) for pool in stack.sandbox_pools]
        seen = stack.invoke("ApiFunction", {"action": "echo"})
        crashed = get(f"{stack.api_url}/api/crash")
        served = get(f"{stack.api_url}/api/echo")

    assert pools == [("ApiFunction", 2, 2)]
    assert seen["environment"] == {
        "BATON_TABLE": "sandboxed-BatonTable",
        "AWS_ENDPOINT_URL": external,
        "SANDBOX_X": None,
    }
    assert seen["context"][0] == stack.functions["ApiFunction"].spec.function_name
    assert crashed == (502, '{"message": "Bad Gateway"}')
    assert served[0] == 200
    assert stack.sandbox_pools[0].pids == []
    assert sandbox_children() == []


def test_the_stack_runs_a_queue_function_given_concurrency_in_sandboxes(
    external: str, handler_path: str
) -> None:
    stack = BatonStack(
        endpoint_url=external,
        stack_name="sandboxed-queue",
        handlers={"CompleteFunction": handler_path},
        concurrency={"CompleteFunction": 2},
        serve_http=False,
        start_pollers=False,
        start_schedules=False,
    )
    with stack:
        pools = [(pool.name, pool.size, len(pool.pids)) for pool in stack.sandbox_pools]
        pollers = sum(poller.source.function == "CompleteFunction" for poller in stack.pollers)
        seen = stack.invoke("CompleteFunction", {"action": "echo"})

    assert pools == [("CompleteFunction", 2, 2)]  # the others, at 1, stay in this process
    assert pollers == 2
    assert seen["pid"] != os.getpid()
    assert sandbox_children() == []


def test_callable_handlers_stay_in_process(external: str) -> None:
    calls: list[int] = []

    def api(event: Any, context: Any) -> dict[str, Any]:
        calls.append(os.getpid())
        return {"statusCode": 204}

    stack = BatonStack(
        endpoint_url=external,
        stack_name="in-process",
        handlers={"ApiFunction": api},
        api_concurrency=4,
        serve_http=False,
        start_pollers=False,
        start_schedules=False,
    )
    with stack:
        stack.invoke("ApiFunction", {})

    assert stack.sandbox_pools == []
    assert calls == [os.getpid()]


def test_the_pool_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BatonStack(template=None, api_concurrency=0)
    with pytest.raises(ValueError, match="at least one"):
        SandboxPool("x.handler", {}, size=0)
