"""Progress notices of the SQS-native worker runtime: when they are due, what they say, and that sending
one never deletes its task message nor releases its lease. The clock is a plain counter the tests move."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from batonflow.sdk.context import epoch_ms
from batonflow.sdk.lease import Lease, LeaseKeeper, Progress
from batonflow.sdk.reporter import MAX_ATTEMPTS, Outgoing, Reporter
from tests.unit.test_sdk_reporter import RESULTS, TASKS, FakeSqs

T = 1_750_000_000_000
INTERVAL_S = 20  # the renewal interval: a 60 s lease / 3


class Clock:
    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> int:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T + int(seconds * 1000)


class Sent:
    """What the keeper hands to the reporter: (lease, decoded body) pairs."""

    def __init__(self) -> None:
        self.notices: list[tuple[Lease, dict[str, Any]]] = []
        self.event = threading.Event()

    def __call__(self, notices: list[tuple[Lease, str]]) -> None:
        self.notices += [(lease, json.loads(body)) for lease, body in notices]
        self.event.set()


def keeper(sqs: FakeSqs | None = None) -> tuple[LeaseKeeper, Clock, Sent]:
    clock, sent = Clock(), Sent()
    leases = LeaseKeeper(sqs or FakeSqs(), interval_seconds=INTERVAL_S, now_ms=clock, notify=sent)
    return leases, clock, sent


def running(leases: LeaseKeeper, n: int = 1, *, response_timeout: int) -> Lease:
    """A held message whose task function runs since ``T``."""
    lease = Lease(TASKS, f"receipt-{n}", 60, f"m-{n}")
    leases.hold(lease)
    leases.track(lease, Progress("wf-1", f"t-{n}", "w-1", T, response_timeout))
    return lease


def notices_at(leases: LeaseKeeper, clock: Clock, seconds: float) -> int:
    """What the keeper's thread does when it wakes ``seconds`` after ``T``: how many notices it sends."""
    clock.at(seconds)
    return leases.send_notices()


def due_times(leases: LeaseKeeper, clock: Clock, *, until_s: int) -> list[int]:
    """Step the clock a second at a time; when notices went (s after ``T``)."""
    return [second for second in range(until_s + 1) if notices_at(leases, clock, second)]


@pytest.mark.parametrize(
    ("response_timeout", "expected"),
    [
        (60, [20, 68, 116]),  # start after the renewal interval, then every 48 s
        (10, list(range(8, 121, 8))),  # a short response timeout: start and heartbeats every 8 s
        (0, [20]),  # no response timeout: the start notice alone
    ],
)
def test_a_start_notice_then_heartbeats_every_four_fifths_of_the_response_timeout(
    response_timeout: int, expected: list[int]
) -> None:
    leases, clock, sent = keeper()
    running(leases, response_timeout=response_timeout)

    assert due_times(leases, clock, until_s=120) == expected
    assert len(sent.notices) == len(expected)


def test_a_notice_says_the_task_is_in_progress_since_it_was_received() -> None:
    leases, clock, sent = keeper()
    lease = running(leases, response_timeout=60)
    assert leases.next_notice_at() == T + 20_000

    assert notices_at(leases, clock, 19.999) == 0
    assert notices_at(leases, clock, 20) == 1

    [(noticed, body)] = sent.notices
    assert noticed is lease
    assert body == {
        "workflowInstanceId": "wf-1",
        "taskId": "t-1",
        "status": "IN_PROGRESS",
        "outputData": {},
        "callbackAfterSeconds": 0,
        "workerId": "w-1",
        "logs": [],
        "extendLease": True,
        "startTime": T,
    }
    assert leases.next_notice_at() == T + 68_000
    assert leases.held() == [lease]


def test_no_notice_for_a_task_whose_function_returned_or_whose_message_went() -> None:
    leases, clock, sent = keeper()
    returned = running(leases, 1, response_timeout=60)
    deleted = running(leases, 2, response_timeout=60)
    leases.untrack(returned)  # its result waits in the reporter, its message still held
    leases.release(deleted)

    assert leases.next_notice_at() is None
    assert notices_at(leases, clock, 300) == 0
    assert leases.held() == [returned]
    assert sent.notices == []


def test_without_a_notify_target_no_notice_is_due() -> None:
    clock = Clock()
    clock.at(300)
    leases = LeaseKeeper(FakeSqs(), interval_seconds=INTERVAL_S, now_ms=clock)
    running(leases, response_timeout=60)
    assert (leases.next_notice_at(), leases.send_notices()) == (None, 0)


def test_notices_are_not_renewals() -> None:
    sqs = FakeSqs()
    leases, clock, _ = keeper(sqs)
    running(leases, response_timeout=10)
    assert notices_at(leases, clock, 8) == 1
    assert sqs.calls == []
    assert leases.beat() == 1
    assert [op for op, _ in sqs.ops()] == ["renew"]


def test_the_keeper_thread_sends_a_notice_due_before_its_next_renewal() -> None:
    leases, clock, sent = keeper()
    clock.at(30)  # the task started long ago on this clock: its start notice is due at once
    leases.start()
    try:
        running(leases, response_timeout=60)  # wakes the thread, which waits a renewal interval otherwise
        assert sent.event.wait(5)
    finally:
        leases.stop(5)
    assert [body["status"] for _, body in sent.notices] == ["IN_PROGRESS"]


def test_the_keeper_thread_wakes_for_a_notice_due_before_its_next_renewal() -> None:
    """On the real clock: a response timeout of 1 s puts the start notice 0.8 s after the receive, well
    before the next renewal (20 s), and the thread waits for the earlier."""
    sent = Sent()
    leases = LeaseKeeper(FakeSqs(), interval_seconds=INTERVAL_S, notify=sent)
    leases.start()
    try:
        lease = Lease(TASKS, "receipt-1", 60, "m-1")
        leases.hold(lease)
        received = epoch_ms()
        leases.track(lease, Progress("wf-1", "t-1", "w-1", received, 1))
        assert sent.event.wait(5)
        elapsed = epoch_ms() - received
    finally:
        leases.stop(5)
    assert 800 <= elapsed < 5000
    assert [body["startTime"] for _, body in sent.notices] == [received]


def reporter(sqs: FakeSqs) -> tuple[Reporter, LeaseKeeper]:
    leases = LeaseKeeper(sqs, interval_seconds=INTERVAL_S)
    return Reporter(sqs, lambda: RESULTS, leases, delay=lambda failures: 0.0), leases


def held(leases: LeaseKeeper, n: int) -> Lease:
    lease = Lease(TASKS, f"receipt-{n}", 60, f"m-{n}")
    leases.hold(lease)
    return lease


def test_a_notice_is_sent_with_the_results_but_deletes_and_releases_nothing() -> None:
    sqs = FakeSqs()
    report, leases = reporter(sqs)
    still_running, finished = held(leases, 1), held(leases, 2)
    report.put_notices([(still_running, "notice-1")])
    report.put(Outgoing(finished, "result-2"))

    report.start()
    report.close(timeout=5)

    assert sqs.ops() == [("send", ["notice-1", "result-2"]), ("delete", ["receipt-2"])]
    assert leases.held() == [still_running]


def test_a_notice_that_cannot_be_sent_is_dropped_and_its_lease_kept() -> None:
    sqs = FakeSqs()
    report, leases = reporter(sqs)
    still_running = held(leases, 1)
    sqs.failing = {"notice-1"}
    report.put_notices([(still_running, "notice-1")])

    report.start()
    report.close(timeout=5)

    assert [op for op, _ in sqs.ops()] == ["send"] * MAX_ATTEMPTS
    assert leases.held() == [still_running]
