"""Baton's SDK: SQS-native workers and a small REST client.

Workers long-poll their task type's SQS queue and report to the results queue directly: no API call in
the path, a batch of ten tasks in three SQS calls. Run ``baton up``, export what it prints, then::

    from batonflow.sdk import TaskContext, worker_task, run_workers

    @worker_task("greet", concurrency=4)        # task type = queue <prefix>task-greet
    def greet(name: str, ctx: TaskContext) -> dict:
        ctx.log(f"greeting {name}")             # inputData["name"] -> name; a missing key gives None
        return {"greeting": f"Hello {name}"}    # -> COMPLETED, outputData = the dict

    if __name__ == "__main__":
        run_workers()                           # until Ctrl-C / SIGTERM; running tasks get 30 s to finish

Raise :class:`NonRetryableError` to fail for good, return :class:`TaskInProgress` to be called again later.
Start and watch workflows with the REST client::

    client = BatonClient("http://127.0.0.1:8080")
    workflow_id = client.start_workflow("greetings", {"name": "Ada"})
    print(client.wait_for_workflow(workflow_id)["output"])

The runtime's contract with the engine (leases, redelivery, stopping) is in :mod:`batonflow.sdk.runner`.
"""

from batonflow.sdk.client import BatonApiError, BatonClient
from batonflow.sdk.context import NonRetryableError, TaskContext, TaskInProgress
from batonflow.sdk.runner import WorkerRunner, run_workers
from batonflow.sdk.settings import WorkerConfigError, WorkerSettings
from batonflow.sdk.worker import Worker, worker_task

__all__ = [
    "BatonApiError",
    "BatonClient",
    "NonRetryableError",
    "TaskContext",
    "TaskInProgress",
    "Worker",
    "WorkerConfigError",
    "WorkerRunner",
    "WorkerSettings",
    "run_workers",
    "worker_task",
]
