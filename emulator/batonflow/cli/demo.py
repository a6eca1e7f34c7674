"""``baton up --demo``: an example workflow, its worker running in this process, and one run to watch."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.table import Table

DEMO_TASKS = [
    {"name": "baton_demo_greet", "retryCount": 1, "retryDelaySeconds": 1, "responseTimeoutSeconds": 30},
    {"name": "baton_demo_shout", "retryCount": 1, "retryDelaySeconds": 1, "responseTimeoutSeconds": 30},
]
DEMO_WORKFLOW = {
    "name": "baton_demo",
    "version": 1,
    "description": "Greets someone, then shouts it.",
    "tasks": [
        {
            "name": "baton_demo_greet",
            "taskReferenceName": "greet",
            "inputParameters": {"name": "${workflow.input.name}"},
        },
        {
            "name": "baton_demo_shout",
            "taskReferenceName": "shout",
            "inputParameters": {"text": "${greet.output.greeting}"},
        },
    ],
    "outputParameters": {"message": "${shout.output.text}"},
}

_workers: list[Any] = []
_lock = threading.Lock()


def greet(name: str) -> dict[str, str]:
    return {"greeting": f"Hello, {name}"}


def shout(text: str) -> dict[str, str]:
    return {"text": text.upper() + "!"}


def run_demo(stack: Any, console: Console, *, timeout_s: float = 60) -> dict[str, Any]:
    """Register the demo, start its SQS-native workers, run one workflow and print it; returns it."""
    from batonflow.sdk import BatonClient, Worker, WorkerSettings

    client = BatonClient(stack.api_url)
    client.register_task_defs(DEMO_TASKS)
    client.register_workflow_def(DEMO_WORKFLOW)
    settings = WorkerSettings.from_env(stack.worker_environment(), worker_id="baton-demo")
    with _lock:
        for task_type, fn in (("baton_demo_greet", greet), ("baton_demo_shout", shout)):
            worker = Worker(task_type, fn, concurrency=2, wait_seconds=1)
            worker.start(settings)
            _workers.append(worker)
    workflow_id = client.start_workflow("baton_demo", {"name": "Baton"})
    console.print(f"Demo workflow [bold]baton_demo[/bold] started: {workflow_id}")
    with console.status("Waiting for it to complete..."):
        workflow = client.wait_for_workflow(workflow_id, timeout_s=timeout_s)
    console.print(_table(workflow))
    console.print(f"Workflow {workflow['status']}; output: {workflow.get('output')}")
    console.print(
        f"Start another: curl -X POST {stack.api_url}/api/workflow/baton_demo "
        "-H 'Content-Type: application/json' -d '{\"name\": \"you\"}'"
    )
    return workflow


def stop_demo_workers() -> None:
    with _lock:
        while _workers:
            _workers.pop().stop(grace_seconds=2)


def _table(workflow: dict[str, Any]) -> Table:
    table = Table(title=f"{workflow['workflowName']} {workflow['workflowId']}")
    for column in ("seq", "task", "status", "attempt", "ms", "output"):
        table.add_column(column)
    for task in workflow.get("tasks", []):
        duration = max(0, task.get("endTime", 0) - task.get("scheduledTime", 0))
        table.add_row(
            str(task["seq"]),
            task["referenceTaskName"],
            task["status"],
            str(task.get("retryCount", 0)),
            str(duration),
            str(task.get("outputData", {})),
        )
    return table
