"""Calling a task function and mapping its outcome to a ResultMessage: pure, no AWS."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import pytest

from batonflow.model.wire import ResultMessage, TaskMessage
from batonflow.sdk import NonRetryableError, TaskContext, TaskInProgress
from batonflow.sdk.execution import (
    LEASE_EXPIRED_REASON,
    bind,
    encode_result,
    lease_expired_result,
    run_task,
)

START = 1_700_000_000_000
NOW = 1_700_000_000_500


def message(**input_data: Any) -> TaskMessage:
    return TaskMessage(
        workflow_instance_id="wf-1",
        task_id="task-1",
        task_type="greet",
        task_def_name="greet",
        reference_task_name="greet_ref",
        retry_count=2,
        input_data=input_data,
    )


def context(**input_data: Any) -> TaskContext:
    return TaskContext(message(**input_data), worker_id="host-1", now_ms=lambda: NOW)


def run(fn: Any, **input_data: Any) -> ResultMessage:
    return run_task(bind(fn), context(**input_data), start_time=START)


# --- argument binding ---------------------------------------------------------------------------


def test_inputs_are_passed_by_parameter_name_and_missing_ones_are_none() -> None:
    def fn(name, count):
        return {"name": name, "count": count}

    assert bind(fn)(context(name="Ada", unused=1)) == {"name": "Ada", "count": None}


def test_a_missing_input_takes_the_parameter_default() -> None:
    def fn(name, greeting="Hello"):
        return f"{greeting} {name}"

    assert bind(fn)(context(name="Ada")) == "Hello Ada"
    assert bind(fn)(context(name="Ada", greeting="Hi")) == "Hi Ada"


def test_var_keyword_receives_every_input_not_bound_by_name() -> None:
    def everything(**inputs):
        return inputs

    def some(name, **rest):
        return name, rest

    assert bind(everything)(context(a=1, **{"not-an-identifier": 2})) == {"a": 1, "not-an-identifier": 2}
    assert bind(some)(context(name="Ada", a=1)) == ("Ada", {"a": 1})


def test_a_parameter_annotated_task_context_gets_the_context() -> None:
    def fn(name: str, ctx: TaskContext) -> dict:
        return {"name": name, "ctx": ctx}

    def with_rest(ctx: TaskContext, **rest) -> dict:
        return {"ctx": ctx, **rest}

    ctx = context(name="Ada", ctx="an input value")
    assert bind(fn)(ctx) == {"name": "Ada", "ctx": ctx}
    assert bind(with_rest)(ctx) == {"ctx": ctx, "name": "Ada"}


def test_the_context_is_recognised_from_an_unresolvable_string_annotation() -> None:
    def fn(ctx: TaskContext, later: UndefinedType):  # noqa: F821 - forward reference never resolved
        return ctx

    ctx = context()
    assert bind(fn)(ctx) is ctx


def test_positional_only_parameters_are_bound_by_name_too() -> None:
    def fn(name, /, ctx: TaskContext):
        return name, ctx.task_id

    assert bind(fn)(context(name="Ada")) == ("Ada", "task-1")


def test_the_context_exposes_the_task() -> None:
    ctx = context(name="Ada")
    assert (ctx.task_id, ctx.workflow_instance_id, ctx.retry_count) == ("task-1", "wf-1", 2)
    assert (ctx.reference_task_name, ctx.task_type, ctx.worker_id) == ("greet_ref", "greet", "host-1")
    assert ctx.input_data == {"name": "Ada"}


def test_async_functions_are_run_to_completion() -> None:
    async def fn(name):
        return {"greeting": f"Hello {name}"}

    assert run(fn, name="Ada").output_data == {"greeting": "Hello Ada"}


# --- result mapping -----------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(
    ("returned", "output"),
    [
        ({"greeting": "Hello"}, {"greeting": "Hello"}),
        (None, {}),
        ("plain", {"result": "plain"}),
        ([1, 2], {"result": [1, 2]}),
        (Point(1, 2), {"x": 1, "y": 2}),
    ],
)
def test_a_return_value_completes_the_task(returned: Any, output: dict[str, Any]) -> None:
    result = run(lambda: returned)
    assert result == ResultMessage(
        workflow_instance_id="wf-1",
        task_id="task-1",
        status="COMPLETED",
        output_data=output,
        worker_id="host-1",
        start_time=START,
    )


def test_a_raised_exception_fails_the_task_with_its_message_and_traceback_in_the_logs() -> None:
    def fn():
        raise ValueError("bad input")

    result = run(fn)
    assert (result.status, result.reason_for_incompletion, result.output_data) == ("FAILED", "bad input", {})
    assert len(result.logs) == 1
    assert "ValueError: bad input" in result.logs[0]["log"]
    assert result.logs[0]["createdTime"] == NOW


def test_an_exception_without_a_message_is_reported_by_its_type() -> None:
    def fn():
        raise KeyError

    assert run(fn).reason_for_incompletion == "KeyError"


def test_sys_exit_in_a_task_fails_the_task() -> None:
    def fn():
        sys.exit(3)

    result = run(fn)
    assert (result.status, result.reason_for_incompletion) == ("FAILED", "3")


def test_non_retryable_error_fails_the_task_for_good() -> None:
    def fn():
        raise NonRetryableError("no such customer")

    result = run(fn)
    assert (result.status, result.reason_for_incompletion) == (
        "FAILED_WITH_TERMINAL_ERROR",
        "no such customer",
    )


def test_task_in_progress_asks_to_be_called_back() -> None:
    result = run(lambda: TaskInProgress(callback_after_seconds=30, output={"done": 3}))
    assert (result.status, result.callback_after_seconds, result.output_data) == (
        "IN_PROGRESS",
        30,
        {"done": 3},
    )


def test_logs_written_through_the_context_travel_with_the_result() -> None:
    def fn(ctx: TaskContext):
        ctx.log("step 1")
        return {}

    assert run(fn).logs == [{"log": "step 1", "taskId": "task-1", "createdTime": NOW}]


def test_an_output_with_non_string_keys_fails_the_task() -> None:
    result = run(lambda: {1: "one"})
    assert result.status == "FAILED"
    assert result.reason_for_incompletion.startswith("task output is not a JSON object")


# --- encoding and the lease-expired report -------------------------------------------------------


def test_lease_expired_result_reports_timed_out_without_output() -> None:
    result = lease_expired_result("wf-1", "task-1", worker_id="host-1", start_time=START)
    assert json.loads(encode_result(result, max_bytes=1024)) == {
        "workflowInstanceId": "wf-1",
        "taskId": "task-1",
        "status": "TIMED_OUT",
        "reasonForIncompletion": "lease expired: the worker holding this task stopped responding",
        "outputData": {},
        "callbackAfterSeconds": 0,
        "workerId": "host-1",
        "logs": [],
        "extendLease": False,
        "startTime": START,
    }
    assert result.reason_for_incompletion == LEASE_EXPIRED_REASON


def test_an_output_that_does_not_serialize_fails_the_task_instead_of_losing_the_result() -> None:
    body = json.loads(encode_result(run(lambda: {"when": object()}), max_bytes=10_000))
    assert body["status"] == "FAILED"
    assert body["reasonForIncompletion"].startswith("task output is not JSON-serializable")
    assert body["outputData"] == {}


def test_a_result_over_the_message_size_limit_fails_the_task_for_good() -> None:
    body = json.loads(encode_result(run(lambda: {"blob": "x" * 2000}), max_bytes=1000))
    assert body["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "over the 1000-byte queue message limit" in body["reasonForIncompletion"]
    assert body["outputData"] == {}
