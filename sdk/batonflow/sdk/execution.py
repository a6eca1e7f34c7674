"""Calling a task function and turning what it did into a :class:`ResultMessage`. No I/O here.

Argument binding follows conductor-python, so a function written for it runs unchanged:

* each parameter gets the ``inputData`` value of the same name; a missing key gives the parameter's
  default, or ``None`` when it has none;
* a ``**kwargs`` parameter receives every input key not bound by name;
* a parameter annotated :class:`TaskContext` receives the context instead of an input value.

The signature is inspected once per worker (:func:`bind`), not once per task.

Result mapping, also conductor-python's:

================================  ==============================================================
the function                      result
================================  ==============================================================
returns a dict                    COMPLETED, ``outputData`` = the dict
returns None                      COMPLETED, ``outputData`` = ``{}``
returns a dataclass instance      COMPLETED, ``outputData`` = ``dataclasses.asdict(value)``
returns anything else             COMPLETED, ``outputData`` = ``{"result": value}``
returns :class:`TaskInProgress`   IN_PROGRESS with ``callbackAfterSeconds`` and its output
raises :class:`NonRetryableError` FAILED_WITH_TERMINAL_ERROR, reason = the message
raises anything else              FAILED, reason = the message (the type name if it has none),
                                  and the traceback appended to the task's logs
================================  ==============================================================
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import traceback
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from batonflow.model.wire import ResultMessage
from batonflow.sdk.context import NonRetryableError, TaskContext, TaskInProgress

COMPLETED = "COMPLETED"
FAILED = "FAILED"
FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"
IN_PROGRESS = "IN_PROGRESS"
TIMED_OUT = "TIMED_OUT"

LEASE_EXPIRED_REASON = "lease expired: the worker holding this task stopped responding"

Invoke = Callable[[TaskContext], Any]

_NO_DEFAULT = inspect.Parameter.empty


def bind(fn: Callable[..., Any]) -> Invoke:
    """Inspect ``fn`` once; return a callable that runs it for one task context."""
    signature = _signature(fn)
    positional: list[tuple[str, Any, bool]] = []  # (name, default, is the context parameter)
    keyword: list[tuple[str, Any, bool]] = []
    takes_rest = False
    for param in signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            takes_rest = True
        elif param.kind is not param.VAR_POSITIONAL:
            slot = (param.name, param.default, _is_context(param.annotation))
            (positional if param.kind is param.POSITIONAL_ONLY else keyword).append(slot)
    named = {name for name, _, _ in positional + keyword}
    is_async = inspect.iscoroutinefunction(fn)

    def value(ctx: TaskContext, name: str, default: Any, is_ctx: bool) -> Any:
        if is_ctx:
            return ctx
        if name in ctx.input_data:
            return ctx.input_data[name]
        return None if default is _NO_DEFAULT else default

    def invoke(ctx: TaskContext) -> Any:
        args = [value(ctx, *slot) for slot in positional]
        kwargs = {slot[0]: value(ctx, *slot) for slot in keyword}
        if takes_rest:
            kwargs.update((k, v) for k, v in ctx.input_data.items() if k not in named)
        if is_async:
            return asyncio.run(fn(*args, **kwargs))
        return fn(*args, **kwargs)

    return invoke


def run_task(invoke: Invoke, ctx: TaskContext, *, start_time: int) -> ResultMessage:
    """Run one task and map its outcome. Never raises: every failure becomes a result.

    ``BaseException`` is caught on purpose: a task calling ``sys.exit()`` must fail its task, not end the
    pool thread it runs in.
    """
    try:
        value = invoke(ctx)
    except NonRetryableError as exc:
        return _result(ctx, FAILED_WITH_TERMINAL_ERROR, start_time, reason=_reason(exc))
    except BaseException as exc:
        ctx.log("".join(traceback.format_exception(exc)))
        return _result(ctx, FAILED, start_time, reason=_reason(exc))
    return map_return_value(ctx, value, start_time=start_time)


def map_return_value(ctx: TaskContext, value: Any, *, start_time: int) -> ResultMessage:
    try:
        if isinstance(value, TaskInProgress):
            callback = value.callback_after_seconds
            return _result(ctx, IN_PROGRESS, start_time, output=value.output, callback=callback)
        return _result(ctx, COMPLETED, start_time, output=_as_output(value))
    except ValidationError as exc:
        return _result(ctx, FAILED, start_time, reason=f"task output is not a JSON object: {exc}")


def lease_expired_result(
    workflow_instance_id: str,
    task_id: str,
    *,
    worker_id: str | None,
    start_time: int,
    attempt: str | None = None,
) -> ResultMessage:
    """What a worker reports for a redelivered message instead of running it again (see ``runner``);
    ``attempt``: the message's record of the attempt, handed back."""
    return ResultMessage(
        workflow_instance_id=workflow_instance_id,
        task_id=task_id,
        status=TIMED_OUT,
        reason_for_incompletion=LEASE_EXPIRED_REASON,
        worker_id=worker_id,
        start_time=start_time,
        attempt=attempt,
    )


def progress_notice(
    workflow_instance_id: str, task_id: str, *, worker_id: str, start_time: int
) -> ResultMessage:
    """What a worker tells the engine about a task still running (a start notice or a heartbeat, see
    ``runner``): it is IN_PROGRESS since ``start_time``, and its response-timeout clock starts again."""
    return ResultMessage(
        workflow_instance_id=workflow_instance_id,
        task_id=task_id,
        status=IN_PROGRESS,
        worker_id=worker_id,
        extend_lease=True,
        start_time=start_time,
    )


def encode_result(result: ResultMessage, *, max_bytes: int) -> str:
    """The result as an SQS message body, or a failure the queue can carry when the output cannot go.

    An output that does not serialize, or a body over the queue's size limit, would otherwise be lost
    in the reporter; failing the task here tells the workflow why. Too large is terminal, as in Conductor:
    the same output would be too large again on a retry.
    """
    try:
        body = result.to_json()
    except PydanticSerializationError as exc:
        return replace_result(result, FAILED, f"task output is not JSON-serializable: {exc}").to_json()
    size = len(body.encode())
    if size > max_bytes:
        reason = f"task result is {size} bytes, over the {max_bytes}-byte queue message limit"
        return replace_result(result, FAILED_WITH_TERMINAL_ERROR, reason).to_json()
    return body


def failed_result(ctx: TaskContext, status: str, reason: str, *, start_time: int) -> ResultMessage:
    """A failure reported without running the function."""
    return _result(ctx, status, start_time, reason=reason)


def replace_result(result: ResultMessage, status: str, reason: str) -> ResultMessage:
    """The result turned into a failure with ``reason``, its output and logs left out."""
    return result.model_copy(
        update={"status": status, "reason_for_incompletion": reason, "output_data": {}, "logs": []}
    )


def _result(
    ctx: TaskContext,
    status: str,
    start_time: int,
    *,
    output: dict[str, Any] | None = None,
    reason: str | None = None,
    callback: int = 0,
) -> ResultMessage:
    return ResultMessage(
        workflow_instance_id=ctx.workflow_instance_id,
        task_id=ctx.task_id,
        status=status,
        output_data=output or {},
        reason_for_incompletion=reason,
        callback_after_seconds=callback,
        worker_id=ctx.worker_id,
        logs=ctx.logs,
        start_time=start_time,
        attempt=ctx.attempt_record,
    )


def _as_output(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return {"result": value}


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The signature, string annotations (``from __future__ import annotations``) resolved if possible."""
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        return inspect.signature(fn)


def _is_context(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation == "TaskContext" or annotation.endswith(".TaskContext")
    return isinstance(annotation, type) and issubclass(annotation, TaskContext)
