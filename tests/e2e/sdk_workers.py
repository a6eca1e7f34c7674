"""conductor-python workers for the e2e suite (tests/e2e/test_conductor_python_workers.py).

They live in an importable module because ``TaskHandler`` starts each worker in a *spawned* process, which
imports the worker function by name. Every task type starts with ``sdkw_`` so no other e2e test polls them.

``python -m tests.e2e.sdk_workers <api> <task type>...`` runs the named workers with one ``TaskHandler``
until its standard input closes: how the suite runs ``CONDUCTOR_WORKER_ISOLATION=thread``, whose worker
threads the SDK cannot stop (the program ends with ``os._exit`` once the handler is stopped).

No ``from __future__ import annotations`` here: the SDK converts each input with the parameter's annotation
object, and a postponed (string) annotation makes every task fail with "isinstance() arg 2 must be a type".
"""

import asyncio
import hashlib
import os
import sys
import time
from typing import Any

from conductor.client.automator.task_handler import TaskHandler, get_registered_workers
from conductor.client.configuration.configuration import Configuration
from conductor.client.context.task_context import TaskInProgress, get_task_context
from conductor.client.worker.exception import NonRetryableException
from conductor.client.worker.worker_task import worker_task

POLL_INTERVAL_MS = 50
LEASE_WORK_S = 7.0
"""Longer than the lease test's 5 s response timeout (see test_lease_extension_keeps_a_slow_attempt_alive)."""
NO_LEASE_WORK_S = 4.0
"""Twice the no-lease test's 2 s response timeout: the attempt surely times out before its result comes."""


def received() -> dict[str, Any]:
    """What the SDK made of the polled task (its deserialized ``Task``), for the tests to assert on."""
    task = get_task_context().task
    return {
        "taskId": task.task_id,
        "status": task.status,
        "taskType": task.task_type,
        "taskDefName": task.task_def_name,
        "workflowInstanceId": task.workflow_instance_id,
        "workflowType": task.workflow_type,
        "referenceTaskName": task.reference_task_name,
        "inputData": task.input_data,
        "pollCount": task.poll_count,
        "retryCount": task.retry_count,
        "scheduledTime": task.scheduled_time,
        "startTime": task.start_time,
        "updateTime": task.update_time,
        "responseTimeoutSeconds": task.response_timeout_seconds,
        "workerId": task.worker_id,
    }


@worker_task(
    task_definition_name="sdkw_greet", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-process"
)
def greet(name: str) -> dict[str, Any]:
    return {"greeting": f"Hello, {name}!", "received": received()}


@worker_task(
    task_definition_name="sdkw_greet_thread", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-thread"
)
def greet_in_thread(name: str) -> dict[str, Any]:
    return {"greeting": f"Hello, {name}!", "received": received()}


@worker_task(
    task_definition_name="sdkw_greet_async", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-async"
)
async def greet_async(name: str) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"greeting": f"Hello, {name}!", "received": received()}


@worker_task(task_definition_name="sdkw_chain", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-chain")
def chained(n: int) -> dict[str, Any]:
    return {"doubled": 2 * n, "taskId": get_task_context().get_task_id()}


@worker_task(
    task_definition_name="sdkw_lease",
    poll_interval_millis=POLL_INTERVAL_MS,
    worker_id="sdkw-lease",
    lease_extend_enabled=True,
)
def slow_with_lease(n: int) -> dict[str, Any]:
    time.sleep(LEASE_WORK_S)
    return {"n": n, "retryCount": get_task_context().get_retry_count()}


@worker_task(
    task_definition_name="sdkw_no_lease", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-no-lease"
)
def slow_without_lease(n: int) -> dict[str, Any]:
    retry_count = get_task_context().get_retry_count()
    if retry_count == 0:
        time.sleep(NO_LEASE_WORK_S)
    return {"n": n, "retryCount": retry_count}


@worker_task(task_definition_name="sdkw_fail", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-fail")
def fail(item: str) -> dict[str, Any]:
    raise RuntimeError(f"cannot process {item}")


@worker_task(
    task_definition_name="sdkw_terminal", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-fail"
)
def fail_terminal(item: str) -> dict[str, Any]:
    raise NonRetryableException(f"{item} is invalid for good")


@worker_task(
    task_definition_name="sdkw_callback", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-callback"
)
def come_back_later(job: str) -> dict[str, Any] | TaskInProgress:
    """First poll: IN_PROGRESS, call back in 1 s (remembering when); second poll: done."""
    context = get_task_context()
    now_ms = int(time.time() * 1000)
    if context.get_poll_count() <= 1:
        return TaskInProgress(callback_after_seconds=1, output={"job": job, "firstPollMs": now_ms})
    return {
        "job": job,
        "firstPollMs": context.task.output_data.get("firstPollMs"),
        "secondPollMs": now_ms,
        "pollCount": context.get_poll_count(),
    }


@worker_task(task_definition_name="sdkw_plain", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-plain")
def plain_value(word: str) -> str:
    get_task_context().add_log(f"shouting {word}")
    return word.upper()


@worker_task(task_definition_name="sdkw_big", poll_interval_millis=POLL_INTERVAL_MS, worker_id="sdkw-big")
def big_echo(blob: str) -> dict[str, Any]:
    """Receives an input over the payload threshold and answers an output over it too."""
    return {"length": len(blob), "sha256": hashlib.sha256(blob.encode()).hexdigest(), "echo": blob[::-1]}


def task_handler(api: str, *task_types: str) -> TaskHandler:
    """A TaskHandler for only the named ``@worker_task`` workers of this module.

    Scanning (``scan_for_annotated_workers=True``, what the README example does) would start a process for
    every decorated function imported, i.e. all of this module's for every test.
    """
    workers = [w for w in get_registered_workers() if w.get_task_definition_name() in task_types]
    if len(workers) != len(task_types):
        raise ValueError(f"not all of {task_types} are @worker_task functions of {__name__}")
    return TaskHandler(
        workers=workers,
        configuration=Configuration(server_api_url=api),
        scan_for_annotated_workers=False,
        monitor_processes=False,
    )


def main(api: str, *task_types: str) -> None:
    handler = task_handler(api, *task_types)
    handler.start_processes()
    sys.stdin.read()
    handler.stop_processes()
    os._exit(0)  # thread-isolated workers are non-daemon threads the SDK cannot stop


if __name__ == "__main__":
    main(*sys.argv[1:])
