"""``baton worker MODULE:FUNCTION --type T``: run a plain Python function as an SQS-native worker.

The function is imported the way uvicorn imports an app (the current directory first on ``sys.path``) and
run by :class:`batonflow.sdk.WorkerRunner`, so it behaves exactly as under ``run_workers()``: inputs bound
by parameter name, a raised exception fails the task, SIGINT/SIGTERM stop it gracefully. The queues come
from the environment ``baton up`` prints (``BATON_QUEUE_PREFIX``, ``BATON_RESULTS_QUEUE_URL``, ``AWS_*``).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from batonflow.cli.connection import fail

console = Console(highlight=False)

# What the SDK reports for each outcome of the function (batonflow.sdk.execution's mapping).
COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR, IN_PROGRESS = (
    "COMPLETED",
    "FAILED",
    "FAILED_WITH_TERMINAL_ERROR",
    "IN_PROGRESS",
)
_STATUS_STYLE = {COMPLETED: "green", IN_PROGRESS: "blue"}


def worker(
    target: Annotated[
        str, typer.Argument(metavar="MODULE:FUNCTION", help="e.g. workers:greet (workers.py in this folder).")
    ],
    task_type: Annotated[str, typer.Option("--type", help="The task type (queue) to serve.")],
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks run at once, one thread each.")] = 1,
    poll_wait: Annotated[
        int,
        typer.Option(
            min=0,
            max=20,
            help="SQS long-poll wait in seconds: Ctrl-C waits for the current poll; 20 makes fewest calls.",
        ),
    ] = 5,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per finished task.")] = False,
) -> None:
    """Run FUNCTION for every task of type --type until Ctrl-C; one line per finished task."""
    from batonflow.model.wire import task_queue_name
    from batonflow.sdk import Worker, WorkerConfigError, WorkerRunner, WorkerSettings

    function = load_function(target)
    try:
        settings = WorkerSettings.from_env()
        task_worker = Worker(task_type, function, concurrency, wait_seconds=poll_wait)
        if not quiet:
            task_worker.invoke = reporting(task_worker.invoke, print_finished)
        runner = WorkerRunner([task_worker], settings=settings)
    except (WorkerConfigError, ValueError) as error:
        fail(f"Error: {error}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console.print(
        f"Worker [bold]{escape(target)}[/bold] serving task type [bold]{escape(task_type)}[/bold] "
        f"(queue {escape(task_queue_name(settings.queue_prefix, task_type))}, concurrency {concurrency}); "
        "Ctrl-C to stop.",
        soft_wrap=True,
    )
    runner.run()
    console.print("Stopped.")


def load_function(target: str) -> Callable[..., Any]:
    """``MODULE:FUNCTION`` (attribute path allowed after the colon) -> the callable; one red line if not."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        fail(f"Error: {target!r} is not MODULE:FUNCTION (e.g. workers:greet)")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and (module_name + ".").startswith(error.name + "."):
            fail(f"Error: no module {module_name!r} (looked in {cwd} and the installed packages)")
        fail(f"Error: importing {module_name} failed: {type(error).__name__}: {error}")
    except Exception as error:  # the user's module raised while importing: say where, not a traceback
        fail(f"Error: importing {module_name} failed: {type(error).__name__}: {error}")
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            fail(f"Error: module {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        fail(f"Error: {target} is a {type(found).__name__}, not a function")
    return found


Report = Callable[[str, str, float], None]


def reporting(
    invoke: Callable[[Any], Any], report: Report, clock: Callable[[], float] = time.monotonic
) -> Callable[[Any], Any]:
    """Wrap a worker's ``invoke`` to call ``report(task_id, status, seconds)`` once per task.

    The status is the one the SDK maps the outcome to (a returned ``TaskInProgress`` is IN_PROGRESS,
    ``NonRetryableError`` FAILED_WITH_TERMINAL_ERROR, any other exception FAILED). An output the SDK then
    rejects (not JSON, too large) still shows COMPLETED here; the task shows the failure.
    """
    from batonflow.sdk import NonRetryableError, TaskInProgress

    def invoke_and_report(ctx: Any) -> Any:
        started = clock()
        status = FAILED
        try:
            value = invoke(ctx)
            status = IN_PROGRESS if isinstance(value, TaskInProgress) else COMPLETED
            return value
        except NonRetryableError:
            status = FAILED_WITH_TERMINAL_ERROR
            raise
        finally:
            report(ctx.task_id, status, clock() - started)

    return invoke_and_report


_print_lock = threading.Lock()


def print_finished(task_id: str, status: str, seconds: float) -> None:
    style = _STATUS_STYLE.get(status, "red")
    stamp = datetime.now().strftime("%H:%M:%S")
    took = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    with _print_lock:
        console.print(f"{stamp}  {task_id}  [{style}]{status}[/{style}]  {took}", soft_wrap=True)
