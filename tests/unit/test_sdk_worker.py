"""Worker definitions, the ``@worker_task`` registry and the SQS batching helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from batonflow.sdk import Worker, WorkerConfigError, WorkerRunner, WorkerSettings, worker_task
from batonflow.sdk.sqs import chunked, pack_by_size, retry_delay
from batonflow.sdk.worker import registered_workers, unregister_all


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    unregister_all()
    yield
    unregister_all()


def test_worker_task_registers_and_leaves_the_function_callable() -> None:
    @worker_task("greet", concurrency=4, lease_seconds=30)
    def greet(name):
        return {"greeting": f"Hello {name}"}

    assert greet("Ada") == {"greeting": "Hello Ada"}
    [worker] = registered_workers()
    assert (worker.task_type, worker.fn, worker.concurrency, worker.lease_seconds) == ("greet", greet, 4, 30)


def test_registering_a_task_type_again_replaces_its_worker() -> None:
    worker_task("greet")(lambda: 1)
    second = worker_task("greet")(lambda: 2)
    assert [worker.fn for worker in registered_workers()] == [second]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"lease_seconds": 2}, "lease_seconds"),
        ({"wait_seconds": 21}, "wait_seconds"),
    ],
)
def test_worker_options_are_checked(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Worker("greet", lambda: None, **options)


def test_a_runner_needs_workers_with_distinct_task_types() -> None:
    settings = WorkerSettings("p-", results_queue_url="http://q", region="us-east-1")
    with pytest.raises(WorkerConfigError, match="no workers"):
        WorkerRunner(settings=settings, sqs_client=object())
    with pytest.raises(WorkerConfigError, match="one worker per task type"):
        WorkerRunner([Worker("a", print), Worker("a", print)], settings=settings, sqs_client=object())


def test_chunked_splits_into_sqs_batches() -> None:
    assert [list(chunk) for chunk in chunked(list(range(23)))] == [
        list(range(10)),
        list(range(10, 20)),
        [20, 21, 22],
    ]


def test_pack_by_size_respects_both_batch_limits() -> None:
    assert pack_by_size([1] * 12, max_bytes=100) == [list(range(10)), [10, 11]]
    assert pack_by_size([40, 40, 40, 10], max_bytes=100) == [[0, 1], [2, 3]]
    assert pack_by_size([500, 10], max_bytes=100) == [[0], [1]]
    assert pack_by_size([], max_bytes=100) == []


def test_retry_delay_doubles_up_to_thirty_seconds() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 5, 6, 50)] == [1.0, 2.0, 4.0, 16.0, 30.0, 30.0]
