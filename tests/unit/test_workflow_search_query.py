"""The search ``query`` and ``sort`` parameters: the clauses Baton accepts and the syntax it refuses."""

from __future__ import annotations

import pytest

from batonflow.errors import BadRequestError
from batonflow.model import Workflow, WorkflowStatus
from batonflow.service.workflow_search import DEFAULT_SORT, SearchQuery, parse_query, parse_sort


def test_an_empty_query_constrains_nothing() -> None:
    assert parse_query(None) == SearchQuery()
    assert parse_query("   ") == SearchQuery()


def test_equality_and_in_clauses_joined_by_and() -> None:
    parsed = parse_query(
        "workflowType = 'orders' AND status IN (RUNNING, \"PAUSED\") and correlationId=cart-1"
    )

    assert parsed.workflow_types == {"orders"}
    assert parsed.statuses == {WorkflowStatus.RUNNING, WorkflowStatus.PAUSED}
    assert parsed.correlation_ids == {"cart-1"}
    assert parsed.created == (None, None)


def test_the_sdk_form_with_a_quoted_type() -> None:
    assert parse_query("workflowType = 'greetings'").workflow_types == {"greetings"}


def test_quoted_values_keep_spaces_and_operators() -> None:
    assert parse_query("correlationId = 'a = b, (c)'").correlation_ids == {"a = b, (c)"}


def test_start_time_bounds_become_an_inclusive_window() -> None:
    assert parse_query("startTime > 100 AND startTime < 200").created == (101, 199)
    assert parse_query("startTime >= 100 AND startTime <= 200").created == (100, 200)
    assert parse_query("startTime>100 AND startTime>150").created == (151, None)


def test_start_time_accepts_iso_dates_in_utc() -> None:
    assert parse_query("startTime > '2023-11-14T22:13:20Z'").created_from == 1_700_000_000_001
    assert parse_query("startTime < 2023-11-14T22:13:20").created_to == 1_699_999_999_999


def test_a_field_given_twice_must_match_both_times() -> None:
    parsed = parse_query("workflowType IN (a, b) AND workflowType IN (b, c)")

    assert parsed.workflow_types == {"b"}


def test_matches_checks_every_constraint() -> None:
    parsed = parse_query("workflowType = orders AND status = RUNNING AND startTime >= 10")
    running = Workflow(workflow_id="w", workflow_name="orders", status=WorkflowStatus.RUNNING, create_time=10)

    assert parsed.matches(running)
    assert not parsed.matches(running.model_copy(update={"create_time": 9}))
    assert not parsed.matches(running.model_copy(update={"status": WorkflowStatus.COMPLETED}))
    assert not parsed.matches(running.model_copy(update={"workflow_name": "refunds"}))


def test_an_impossible_window_is_empty() -> None:
    assert parse_query("startTime > 5 AND startTime < 6").empty_window
    assert not parse_query("startTime >= 5 AND startTime <= 5").empty_window


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("workflowType = a OR workflowType = b", "expected AND"),
        ("NOT status = RUNNING", "Unsupported search clause"),
        ("(status = RUNNING)", "Unsupported search clause"),
        ("status != RUNNING", "Unsupported search clause"),
        ("workflowType > a", "Unsupported search clause"),
        ("startTime = 5", "Unsupported search clause"),
        ("input.orderId = 7", "Unsupported search clause"),
        ("status = RUNNING AND", "incomplete clause"),
        ("status =", "incomplete clause"),
        ("status IN RUNNING", "parentheses"),
        ("status IN (RUNNING", "IN list"),
        ("status IN (RUNNING,)", "malformed IN list"),
        ("status IN (RUNNING PAUSED)", "malformed IN list"),
        ("status = running", "Unknown workflow status in search query: running"),
        ("startTime > soon", "Invalid startTime"),
        ("startTime > 1" + "0" * 40, "out of range"),
        ("status = (RUNNING)", "a value was expected, found '('"),
        ("workflowType = = a", "a value was expected"),
        ("workflowType = 'unclosed", "cannot read"),
    ],
)
def test_unsupported_syntax_is_refused_with_a_reason(query: str, message: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        parse_query(query)

    assert message in refused.value.message


def test_sort_terms() -> None:
    assert parse_sort(None) == DEFAULT_SORT == (("startTime", False),)
    assert parse_sort("startTime:ASC") == (("startTime", True),)
    assert parse_sort("updateTime:desc|startTime") == (("updateTime", False), ("startTime", True))


@pytest.mark.parametrize("sort", ["workflowId:ASC", "startTime:UP", "startTime:ASC|"])
def test_unsupported_sorts_are_refused(sort: str) -> None:
    with pytest.raises(BadRequestError, match="Unsupported sort"):
        parse_sort(sort)
