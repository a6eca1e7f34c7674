"""Retention without AWS: the TTL a header write sets or removes, when a header counts as expired, the
template parameter in seconds, and the emulator's stream filter and record shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batonflow.config import retention_seconds
from batonflow.emulator.dynamodb_streams import StreamSource, check_pattern, matches, stream_record
from batonflow.emulator.errors import EmulatorError
from batonflow.engine.plan import Plan, WorkflowChange
from batonflow.model import Workflow, WorkflowStatus
from batonflow.store.executions import _header_changes
from batonflow.store.layout import Header, is_expired
from tests.support.engine import T0

DAY_S = 86400
HEADER = Header(workflow=Workflow(workflow_id="wf-1", status=WorkflowStatus.RUNNING), version=3)


def changes(change: WorkflowChange | None, *, retention_s: int = 30 * DAY_S, now: int = T0 + 9_999):
    return _header_changes(HEADER, Plan(workflow=change), None, now=now, retention_s=retention_s)


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"])
def test_finishing_sets_the_ttl_in_seconds_from_the_end_time(status: str):
    changed, removed = changes(WorkflowChange(status=WorkflowStatus(status), end_time=T0 + 1_500))

    assert changed["expiresAt"] == {"N": str((T0 + 1_500) // 1000 + 30 * DAY_S)}
    assert "expiresAt" not in removed


def test_a_finish_without_an_end_time_counts_from_now():
    changed, _ = changes(WorkflowChange(status=WorkflowStatus.COMPLETED), now=T0 + 42_000)

    assert changed["expiresAt"] == {"N": str((T0 + 42_000) // 1000 + 30 * DAY_S)}


@pytest.mark.parametrize("status", ["RUNNING", "PAUSED"])
def test_running_again_removes_the_ttl(status: str):
    changed, removed = changes(WorkflowChange(status=WorkflowStatus(status)))

    assert "expiresAt" in removed
    assert "expiresAt" not in changed


def test_retention_zero_sets_no_ttl_and_removes_an_old_one():
    changed, removed = changes(WorkflowChange(status=WorkflowStatus.COMPLETED, end_time=T0), retention_s=0)

    assert "expiresAt" not in changed
    assert "expiresAt" in removed


@pytest.mark.parametrize("change", [None, WorkflowChange(variables={"a": 1})])
def test_a_write_that_does_not_change_the_status_leaves_the_ttl_alone(change: WorkflowChange | None):
    changed, removed = changes(change)

    assert "expiresAt" not in changed
    assert "expiresAt" not in removed


def test_a_header_is_expired_from_its_ttl_second_on():
    item = {"expiresAt": {"N": "1700000100"}}

    assert not is_expired(item, 1_700_000_099_999)
    assert is_expired(item, 1_700_000_100_000)
    assert not is_expired({}, 1_700_000_100_000)


@pytest.mark.parametrize(
    ("days", "seconds"), [("30", 30 * DAY_S), ("0", 0), ("0.5", DAY_S // 2), ("0.0000116", 1), ("-1", 0)]
)
def test_the_retention_parameter_is_days_and_may_be_a_fraction(days: str, seconds: int):
    assert retention_seconds(days) == seconds


HEADER_REMOVED = {
    "eventName": ["REMOVE"],
    "dynamodb": {"Keys": {"SK": {"S": ["#HEADER"]}, "PK": {"S": [{"prefix": "WF#"}]}}},
}


def record(event_name: str, pk: str, sk: str) -> dict:
    return {"eventName": event_name, "dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": sk}}}}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (record("REMOVE", "WF#a", "#HEADER"), True),
        (record("MODIFY", "WF#a", "#HEADER"), False),
        (record("REMOVE", "WF#a", "T#t1"), False),
        (record("REMOVE", "LIMIT#x", "#HEADER"), False),
        ({"eventName": "REMOVE", "dynamodb": {}}, False),
    ],
)
def test_the_template_filter_passes_header_removals_only(event: dict, expected: bool):
    assert matches(HEADER_REMOVED, event) is expected


def test_filter_operators_exists_suffix_and_anything_but():
    assert matches({"a": [{"exists": True}]}, {"a": 1})
    assert matches({"b": [{"exists": False}]}, {"a": 1})
    assert not matches({"a": [{"exists": False}]}, {"a": 1})
    assert matches({"a": [{"suffix": ".fifo"}]}, {"a": "q.fifo"})
    assert matches({"a": [{"anything-but": ["x", "y"]}]}, {"a": "z"})
    assert not matches({"a": [{"anything-but": "x"}]}, {"a": "x"})
    assert matches({"a": ["x", "y"]}, {"a": "y"})


def test_filter_operators_the_emulator_cannot_evaluate_are_refused_up_front():
    with pytest.raises(EmulatorError):
        check_pattern({"a": [{"numeric": [">", 1]}]})
    with pytest.raises(EmulatorError):
        StreamSource(function="f", stream_arn="arn", region="r", filters=({"a": "not a list"},))


def test_stream_records_take_lambdas_shape():
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    raw = {"eventName": "REMOVE", "dynamodb": {"ApproximateCreationDateTime": created, "SequenceNumber": "7"}}

    converted = stream_record(raw, stream_arn="arn:stream")

    assert converted["eventSourceARN"] == "arn:stream"
    assert converted["dynamodb"] == {
        "ApproximateCreationDateTime": int(created.timestamp()),
        "SequenceNumber": "7",
    }
    assert raw["dynamodb"]["ApproximateCreationDateTime"] is created  # the input is not changed
