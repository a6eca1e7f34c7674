"""The outbox names a decide's dispatches by ranges of sequence numbers, one list per delay."""

from __future__ import annotations

from batonflow.engine.plan import Dispatch
from batonflow.model import Task
from batonflow.service.executor import dispatch_entries


def _dispatch(seq: int, delay: int = 0) -> Dispatch:
    return Dispatch(Task(task_id=f"t{seq}", seq=seq), delay)


def test_consecutive_attempts_are_one_range_and_gaps_start_another() -> None:
    dispatches = [_dispatch(seq) for seq in (7, 3, 4, 5, 9)] + [_dispatch(8, delay=30)]

    assert dispatch_entries(dispatches) == [
        {"seqs": [[3, 5], [7, 7], [9, 9]], "delay": 0},
        {"seqs": [[8, 8]], "delay": 30},
    ]


def test_ten_thousand_branches_are_one_entry() -> None:
    assert dispatch_entries([_dispatch(seq) for seq in range(2, 10_002)]) == [
        {"seqs": [[2, 10_001]], "delay": 0}
    ]


def test_no_dispatch_no_entry() -> None:
    assert dispatch_entries([]) == []
