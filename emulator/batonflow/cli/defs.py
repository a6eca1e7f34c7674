"""``baton defs push|list|show``: task and workflow definitions, from JSON files to the stack and back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from batonflow.cli.connection import (
    UrlOption,
    api_errors,
    client_from_options,
    debug_enabled,
    error_console,
    fail,
    validation_errors,
)

if TYPE_CHECKING:
    from batonflow.sdk.client import BatonClient

app = typer.Typer(help="Push, list and show task and workflow definitions.", no_args_is_help=True)


@dataclass(frozen=True)
class Batch:
    """What one request registers: the task defs of one file, or one workflow def."""

    source: Path
    kind: str
    """``task`` or ``workflow``."""
    definitions: list[dict[str, Any]]

    @property
    def names(self) -> str:
        if self.kind == "workflow":
            return f"{self.definitions[0].get('name', '?')} v{self.definitions[0].get('version', 1)}"
        return ", ".join(str(d.get("name", "?")) for d in self.definitions)


@app.command()
def push(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...", help="JSON files, or folders searched for *.json (subfolders included)."
        ),
    ],
    url: UrlOption = None,
) -> None:
    """Register definitions: task defs first, then workflow defs (replacing the same name and version).

    A file holds a task def, a workflow def (it has "tasks"), or a list of either. Every file is read
    before anything is sent; a definition the server refuses is reported field by field (exit 1).
    """
    batches = plan(_files(paths))
    if not batches:
        fail("No definitions found (looked for *.json)")
    client = client_from_options(url)
    console = Console()
    refused = 0
    with api_errors():
        for batch in batches:
            refused += not _register(client, batch, console)
    if refused:
        fail(f"{refused} of {len(batches)} registrations refused")


@app.command("list")
def list_defs(
    task_defs: Annotated[bool, typer.Option("--task-defs", help="List task definitions instead.")] = False,
    url: UrlOption = None,
) -> None:
    """List workflow definitions (every version), or task definitions with --task-defs."""
    client = client_from_options(url)
    with api_errors():
        found = client.list_task_defs() if task_defs else client.list_workflow_defs()
    if not found:
        Console().print("No task definitions." if task_defs else "No workflow definitions.")
        return
    if task_defs:
        table = Table("Name", "Retries", "Timeout (s)", "Description")
        for task_def in sorted(found, key=lambda d: str(d.get("name"))):
            table.add_row(
                escape(str(task_def.get("name"))),
                str(task_def.get("retryCount", "")),
                str(task_def.get("timeoutSeconds", "")),
                escape(str(task_def.get("description") or "")),
            )
    else:
        table = Table("Name", "Version", "Tasks", "Description")
        for workflow_def in sorted(found, key=lambda d: (str(d.get("name")), d.get("version") or 0)):
            table.add_row(
                escape(str(workflow_def.get("name"))),
                str(workflow_def.get("version", "")),
                str(count_tasks(workflow_def.get("tasks") or [])),
                escape(str(workflow_def.get("description") or "")),
            )
    Console().print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The definition's name.")],
    version: Annotated[int | None, typer.Option(help="Workflow def version; the latest otherwise.")] = None,
    task: Annotated[bool, typer.Option("--task", help="Show the task definition of that name.")] = False,
    url: UrlOption = None,
) -> None:
    """Print a workflow definition (or a task definition with --task) as JSON."""
    if task and version is not None:
        raise typer.BadParameter("task definitions have no versions", param_hint="--version")
    client = client_from_options(url)
    with api_errors():
        found = client.get_task_def(name) if task else client.get_workflow_def(name, version)
    Console().print_json(json.dumps(found))


def plan(files: Iterable[tuple[Path, Any]]) -> list[Batch]:
    """Sort parsed files into requests: one per file of task defs, then one per workflow def."""
    task_batches: list[Batch] = []
    workflow_batches: list[Batch] = []
    for source, content in files:
        items = content if isinstance(content, list) else [content]
        if not items or not all(isinstance(item, dict) for item in items):
            fail(f"{source}: expected a definition (JSON object) or a list of them")
        tasks = [item for item in items if not _is_workflow(item)]
        if tasks:
            task_batches.append(Batch(source, "task", tasks))
        workflow_batches.extend(Batch(source, "workflow", [item]) for item in items if _is_workflow(item))
    return task_batches + workflow_batches


def count_tasks(workflow_tasks: Iterable[dict[str, Any]]) -> int:
    """Every task of a definition, those inside forks, switches and loops included."""
    total = 0
    for workflow_task in workflow_tasks:
        total += 1
        nested = [*(workflow_task.get("forkTasks") or []), workflow_task.get("loopOver") or []]
        nested += [
            *(workflow_task.get("decisionCases") or {}).values(),
            workflow_task.get("defaultCase") or [],
        ]
        total += sum(count_tasks(branch) for branch in nested)
    return total


def _is_workflow(definition: dict[str, Any]) -> bool:
    return isinstance(definition.get("tasks"), list)


def _files(paths: list[Path]) -> list[tuple[Path, Any]]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            fail(f"{path}: no such file or folder")
    parsed = []
    for file in files:
        try:
            parsed.append((file, json.loads(file.read_text())))
        except (OSError, ValueError) as error:
            fail(f"{file}: not readable JSON: {error}")
    return parsed


def _register(client: BatonClient, batch: Batch, console: Console) -> bool:
    from batonflow.sdk.wire import BatonApiError

    try:
        if batch.kind == "task":
            client.register_task_defs(batch.definitions)
        else:
            client.register_workflow_def(batch.definitions[0], overwrite=True)
    except BatonApiError as error:
        if error.status == 0 or debug_enabled():
            raise
        error_console.print(
            f"[red]✗ {batch.kind} def {escape(batch.names)} ({escape(str(batch.source))}): "
            f"Error ({error.status}): {escape(error.message)}[/red]",
            soft_wrap=True,
        )
        for path, message in validation_errors(error):
            error_console.print(f"    [red]{escape(path)}[/red]: {escape(message)}", soft_wrap=True)
        return False
    source = escape(str(batch.source))
    console.print(
        f"[green]✓[/green] {batch.kind} def {escape(batch.names)} [dim]({source})[/dim]", soft_wrap=True
    )
    return True
