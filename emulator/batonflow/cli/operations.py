"""``baton terminate|pause|resume|retry|restart|rerun ID``: Conductor's lifecycle operations."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from batonflow.cli.connection import UrlOption, api_errors, client_from_options
from batonflow.cli.json_input import json_object

WorkflowId = Annotated[str, typer.Argument(metavar="ID", help="The workflow id.")]


def terminate(
    workflow_id: WorkflowId,
    reason: Annotated[str | None, typer.Option(help="Why; kept as the workflow's reason.")] = None,
    url: UrlOption = None,
) -> None:
    """Terminate a running or paused workflow (its running tasks are canceled)."""
    with api_errors():
        client_from_options(url).terminate_workflow(workflow_id, reason)
    _done("Terminated", workflow_id)


def pause(workflow_id: WorkflowId, url: UrlOption = None) -> None:
    """Pause a running workflow: running tasks finish, no new task is scheduled until resume."""
    with api_errors():
        client_from_options(url).pause_workflow(workflow_id)
    _done("Paused", workflow_id)


def resume(workflow_id: WorkflowId, url: UrlOption = None) -> None:
    """Resume a paused workflow."""
    with api_errors():
        client_from_options(url).resume_workflow(workflow_id)
    _done("Resumed", workflow_id)


def retry(
    workflow_id: WorkflowId,
    resume_subworkflow_tasks: Annotated[
        bool,
        typer.Option("--resume-subworkflow-tasks", help="Retry inside a failed sub-workflow, not a new one."),
    ] = False,
    url: UrlOption = None,
) -> None:
    """Retry a failed workflow from its last failed task(s)."""
    with api_errors():
        client_from_options(url).retry_workflow(workflow_id, resume_subworkflow_tasks)
    _done("Retrying", workflow_id)


def restart(
    workflow_id: WorkflowId,
    use_latest_definitions: Annotated[
        bool,
        typer.Option("--use-latest-definitions", help="Run the latest workflow and task definitions."),
    ] = False,
    url: UrlOption = None,
) -> None:
    """Run a finished workflow again from its first task, with the same id and input."""
    with api_errors():
        client_from_options(url).restart_workflow(workflow_id, use_latest_definitions)
    _done("Restarted", workflow_id)


def rerun(
    workflow_id: WorkflowId,
    from_task: Annotated[
        str | None,
        typer.Option(
            "--from-task", metavar="TASK_ID", help="Rerun from this task (id); else from the start."
        ),
    ] = None,
    task_input: Annotated[
        str | None, typer.Option("--task-input", help="New input for that task, a JSON object.")
    ] = None,
    url: UrlOption = None,
) -> None:
    """Rerun a finished workflow from one of its tasks, keeping what ran before it."""
    request: dict[str, object] = {}
    if from_task is not None:
        request["reRunFromTaskId"] = from_task
    if task_input is not None:
        if from_task is None:
            raise typer.BadParameter(
                "needs --from-task: the task the input is for", param_hint="--task-input"
            )
        request["taskInput"] = json_object(task_input, "--task-input")
    with api_errors():
        rerun_id = client_from_options(url).rerun_workflow(workflow_id, request)
    _done("Rerunning", rerun_id)


def _done(what: str, workflow_id: str) -> None:
    Console().print(f"{what} [bold]{escape(workflow_id)}[/bold].")
