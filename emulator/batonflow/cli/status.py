"""``baton status ID``: an execution as a tree (forks, loops, switches and sub-workflows nested)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from batonflow.cli.connection import UrlOption, api_errors, client_from_options
from batonflow.cli.execution_tree import FetchWorkflow, build_tree, public, render_tree

if TYPE_CHECKING:
    from batonflow.sdk.client import BatonClient


def status(
    workflow_id: Annotated[str, typer.Argument(metavar="ID", help="The workflow id.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the tree as JSON (shape above) instead of text.")
    ] = False,
    url: UrlOption = None,
) -> None:
    """Show an execution as a tree: each task attempt with its status, attempt, duration, worker and reason.

    Fork branches (dynamic ones too), loop iterations and switch cases are nested under their task, and a
    sub-workflow's execution under its SUB_WORKFLOW task (three levels deep at most).

    --json prints WORKFLOW = {"workflowId", "name", "version", "status", "correlationId", "parentWorkflowId",
    "startTime", "endTime", "durationMs", "reason", "tasks": [TASK, ...]} where TASK = {"taskId", "ref",
    "name", "type", "status", "seq", "retryCount", "iteration", "startTime", "endTime", "durationMs",
    "workerId", "reason", "subWorkflowId", "groups": [{"kind": "branch" | "iteration" | "case", "key": 1 |
    "case name", "tasks": [TASK, ...]}, ...], "subWorkflow": WORKFLOW or null}. Times are epoch
    milliseconds (null when unset); "tasks" lists every attempt of a task, in seq order.
    """
    client = client_from_options(url)
    with api_errors():
        workflow = client.get_workflow(workflow_id)
        tree = build_tree(workflow, int(time.time() * 1000), fetch=_child_fetcher(client))
    if as_json:
        typer.echo(json.dumps(public(tree), indent=2))
    else:
        Console().print(render_tree(tree))


def _child_fetcher(client: BatonClient) -> FetchWorkflow:
    from batonflow.sdk.wire import BatonApiError

    def fetch(workflow_id: str) -> dict[str, Any] | None:
        try:
            return client.get_workflow(workflow_id)
        except BatonApiError as error:
            if error.status == 404:  # removed by retention: the tree shows the id only
                return None
            raise

    return fetch
