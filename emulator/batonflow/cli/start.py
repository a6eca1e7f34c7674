"""``baton start NAME``: start a workflow, and with ``--wait`` watch its tasks live until it ends."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.tree import Tree

from batonflow.cli.connection import UrlOption, api_errors, client_from_options, fail
from batonflow.cli.execution_tree import build_tree, render_tree
from batonflow.cli.json_input import json_object, read_text

if TYPE_CHECKING:
    from batonflow.sdk.client import BatonClient

POLL_INTERVAL_S = 0.5


def start(
    name: Annotated[str, typer.Argument(help="The workflow definition's name.")],
    version: Annotated[int | None, typer.Option(help="Definition version; the latest otherwise.")] = None,
    input_json: Annotated[
        str | None, typer.Option("--input", help="The workflow input, a JSON object.")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input-file", help="Read the input (a JSON object) from this file; - for stdin."),
    ] = None,
    correlation_id: Annotated[str | None, typer.Option("--correlation-id", help="Correlation id.")] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Watch the tasks until the workflow ends; exit 0 if COMPLETED."),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(min=0, help="With --wait: give up (exit 1) after this many seconds; else no limit."),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Start a workflow and print its id.

    With --wait, show its tasks appearing and changing status, then its output (JSON) or why it failed.
    """
    workflow_input = _input(input_json, input_file)
    client = client_from_options(url)
    with api_errors():
        workflow_id = client.start_workflow(name, workflow_input, version, correlation_id)
    typer.echo(workflow_id)
    if wait:
        with api_errors():
            workflow = watch(client, workflow_id, Console(), timeout)
        report_end(workflow)


def watch(
    client: BatonClient,
    workflow_id: str,
    console: Console,
    timeout_s: float | None = None,
    interval_s: float = POLL_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the workflow, redrawing its task tree, until it is terminal; exit 1 once ``timeout_s`` passes."""
    from batonflow.sdk.client import TERMINAL_WORKFLOW_STATUSES

    deadline = None if timeout_s is None else clock() + timeout_s
    workflow = client.get_workflow(workflow_id)
    with Live(_view(workflow), console=console, refresh_per_second=8) as live:
        while workflow.get("status") not in TERMINAL_WORKFLOW_STATUSES:
            if deadline is not None and clock() >= deadline:
                live.stop()
                still = workflow.get("status")
                fail(f"Timed out after {timeout_s:g} s: workflow {workflow_id} is still {still}")
            sleep(interval_s)
            workflow = client.get_workflow(workflow_id)
            live.update(_view(workflow))
    if not console.is_terminal:
        console.line()  # Live ends its only (final) drawing without one when output is not a terminal
    return workflow


def report_end(workflow: dict[str, Any]) -> None:
    """Print the output of a COMPLETED workflow, or why it did not complete and exit 1."""
    console = Console()
    if workflow.get("status") == "COMPLETED":
        console.print_json(json.dumps(workflow.get("output") or {}))
        return
    reason = workflow.get("reasonForIncompletion") or "no reason given"
    console.print(f"[red]{workflow.get('status')}: {escape(str(reason))}[/red]", soft_wrap=True)
    raise typer.Exit(1)


def _view(workflow: dict[str, Any]) -> Tree:
    return render_tree(build_tree(workflow, int(time.time() * 1000)))


def _input(input_json: str | None, input_file: Path | None) -> dict[str, Any]:
    if input_json is not None and input_file is not None:
        raise typer.BadParameter("give --input or --input-file, not both", param_hint="--input")
    if input_file is not None:
        return json_object(read_text(input_file, "--input-file"), "--input-file")
    return json_object(input_json, "--input") if input_json is not None else {}
