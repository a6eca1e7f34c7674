"""Result reporting and lease renewal against an in-memory SQS fake: ordering, batching, failures."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from batonflow.sdk.lease import Lease, LeaseKeeper
from batonflow.sdk.reporter import MAX_ATTEMPTS, Outgoing, Reporter

RESULTS = "https://sqs/results"
TASKS = "https://sqs/task-greet"


class FakeSqs:
    """Records batch calls; fails the entries whose body or receipt is listed, or whole calls on request."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[dict[str, Any]]]] = []
        self.failing: set[str] = set()
        self.raise_next: int = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("send", QueueUrl, Entries, key="MessageBody")

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("delete", QueueUrl, Entries, key="ReceiptHandle")

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("renew", QueueUrl, Entries, key="ReceiptHandle")

    def _call(self, op: str, url: str, entries: list[dict[str, Any]], *, key: str) -> dict[str, Any]:
        self.calls.append((op, url, entries))
        if self.raise_next:
            self.raise_next -= 1
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, op)
        failed = [e for e in entries if e[key] in self.failing]
        return {
            "Successful": [{"Id": e["Id"]} for e in entries if e not in failed],
            "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in failed],
        }

    def ops(self) -> list[tuple[str, list[str]]]:
        """Each call as (operation, bodies or receipt handles)."""
        return [
            (op, [e.get("MessageBody") or e["ReceiptHandle"] for e in entries])
            for op, _, entries in self.calls
        ]


def make(sqs: FakeSqs, **options: Any) -> tuple[Reporter, LeaseKeeper, list[int]]:
    leases = LeaseKeeper(sqs, interval_seconds=20)
    delays: list[int] = []

    def delay(failures: int) -> float:
        delays.append(failures)
        return 0.0

    return Reporter(sqs, lambda: RESULTS, leases, delay=delay, **options), leases, delays


def item(leases: LeaseKeeper, n: int, body: str | None = "result") -> Outgoing:
    lease = Lease(TASKS, f"receipt-{n}", 60, f"m-{n}")
    leases.hold(lease)
    return Outgoing(lease, None if body is None else f"{body}-{n}")


def test_results_are_sent_in_one_batch_before_their_messages_are_deleted() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs)
    reporter.flush([item(leases, 1), item(leases, 2), item(leases, 3, body=None)])
    assert sqs.ops() == [("send", ["result-1", "result-2"])]
    assert len(leases.held()) == 3  # held, and renewed, until deleted
    reporter.delete_ready(everything=True)
    assert sqs.ops() == [
        ("send", ["result-1", "result-2"]),
        ("delete", ["receipt-3", "receipt-1", "receipt-2"]),
    ]
    assert [url for _, url, _ in sqs.calls] == [RESULTS, TASKS]
    assert leases.held() == []


def test_deletes_wait_for_a_full_batch_across_results_batches() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs, delete_linger_seconds=60)
    for n in range(9):
        reporter.flush([item(leases, n)])
        reporter.delete_ready()
    assert [op for op, _ in sqs.ops()] == ["send"] * 9
    reporter.flush([item(leases, 9), item(leases, 10)])
    reporter.delete_ready()
    assert sqs.ops()[9:] == [
        ("send", ["result-9", "result-10"]),
        ("delete", [f"receipt-{n}" for n in range(10)]),
        ("delete", ["receipt-10"]),
    ]
    assert leases.held() == []


def test_a_lone_delete_goes_once_the_oldest_has_waited_the_linger() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs, delete_linger_seconds=0.05)
    reporter.start()
    reporter.put(item(leases, 1))
    deadline = time.monotonic() + 5
    while len(sqs.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sqs.ops() == [("send", ["result-1"]), ("delete", ["receipt-1"])]
    assert leases.held() == []
    reporter.close(timeout=5)


def test_closing_deletes_what_waits_without_lingering() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs, delete_linger_seconds=3600)
    reporter.start()
    reporter.put(item(leases, 1))
    reporter.close(timeout=5)
    assert sqs.ops() == [("send", ["result-1"]), ("delete", ["receipt-1"])]
    assert leases.held() == []


def test_results_are_split_to_stay_under_the_batch_size_limit() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs, max_batch_bytes=20)
    reporter.flush([item(leases, n) for n in range(3)])  # 8 bytes each
    reporter.delete_ready(everything=True)
    assert [op for op, _ in sqs.ops()] == ["send", "send", "delete"]


def test_a_result_that_did_not_go_keeps_its_message_and_is_sent_again() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs)
    first, second = item(leases, 1), item(leases, 2)
    sqs.failing = {"result-2"}
    reporter.flush([first, second])
    reporter.delete_ready(everything=True)
    assert sqs.ops()[-1] == ("delete", ["receipt-1"])
    assert leases.held() == [second.lease]

    sqs.failing = set()
    reporter.start()
    reporter.close(timeout=5)
    assert sqs.ops()[-2:] == [("send", ["result-2"]), ("delete", ["receipt-2"])]
    assert (second.attempts, leases.held()) == (1, [])


def test_a_result_is_given_up_after_max_attempts_and_its_lease_released_without_a_delete() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs)
    stuck = item(leases, 1)
    sqs.failing = {"result-1"}
    reporter.flush([stuck])
    reporter.start()  # closing: the thread retries at once until it gives up
    reporter.close(timeout=5)
    assert [op for op, _ in sqs.ops()] == ["send"] * MAX_ATTEMPTS
    assert leases.held() == []


def test_the_reporter_thread_backs_off_after_a_failed_call_then_delivers() -> None:
    sqs = FakeSqs()
    reporter, leases, delays = make(sqs)
    sqs.raise_next = 1
    reporter.start()
    reporter.put(item(leases, 1))
    reporter.close(timeout=5)
    assert sqs.ops() == [("send", ["result-1"]), ("send", ["result-1"]), ("delete", ["receipt-1"])]
    assert delays == [1]


def test_results_of_tasks_finishing_together_share_one_batch() -> None:
    sqs = FakeSqs()
    reporter, leases, _ = make(sqs, flush_seconds=60)  # only "no task running" can end the wait
    for _ in range(3):
        reporter.task_started()
    reporter.start()
    for n in range(3):
        reporter.task_finished(item(leases, n))
    assert reporter.wait_idle(timeout=5)
    reporter.close(timeout=5)
    assert sqs.ops() == [
        ("send", ["result-0", "result-1", "result-2"]),
        ("delete", ["receipt-0", "receipt-1", "receipt-2"]),
    ]


def test_lease_renewal_extends_every_held_message_in_batches_of_ten_per_queue() -> None:
    sqs = FakeSqs()
    leases = LeaseKeeper(sqs, interval_seconds=20)
    held = [Lease(TASKS, f"r-{n}", 60) for n in range(12)] + [Lease("https://sqs/other", "o-1", 90)]
    for lease in held:
        leases.hold(lease)
    leases.release(held[0])
    sqs.failing = {"r-5"}
    assert leases.beat() == 11
    sizes: dict[str, list[int]] = {}
    for _, url, entries in sqs.calls:
        sizes.setdefault(url, []).append(len(entries))
        assert all(e["VisibilityTimeout"] == (90 if url == "https://sqs/other" else 60) for e in entries)
    assert {url: sorted(n) for url, n in sizes.items()} == {TASKS: [1, 10], "https://sqs/other": [1]}


def test_lease_renewal_survives_a_failed_call() -> None:
    sqs = FakeSqs()
    leases = LeaseKeeper(sqs, interval_seconds=20)
    leases.hold(Lease(TASKS, "r-1", 60))
    sqs.raise_next = 1
    assert leases.beat() == 0
    assert leases.beat() == 1
