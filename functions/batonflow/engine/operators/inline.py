"""INLINE and its legacy form LAMBDA (REFERENCE §4.0, §4.12, §4.13): evaluate a script inside the decide.

The script sees the task's whole resolved input as ``$`` (its own ``expression``/``scriptExpression``
included) and its value becomes ``outputData.result``. The two types differ in how a failure counts: an
INLINE failure (blank expression, unknown evaluator, script error or time limit) is
FAILED_WITH_TERMINAL_ERROR, since running the same script on the same input again cannot help; a LAMBDA
failure is a plain FAILED and so is retried when its TaskDef allows it.
"""

from __future__ import annotations

from typing import Any, Final

from batonflow.engine.context import Decision
from batonflow.engine.jsonpath import java_text
from batonflow.engine.operators.base import Outcome, SyncOperator
from batonflow.engine.scripting import DEFAULT_TIME_LIMIT_MS, ScriptError, evaluate, evaluate_function_body
from batonflow.model import TaskStatus, TaskType, WorkflowTask

JAVASCRIPT: Final = "javascript"
VALUE_PARAM: Final = "value-param"
_JAVASCRIPT_NAMES: Final = (JAVASCRIPT, "graaljs")

_EMPTY_EVALUATOR: Final = (
    "Empty 'evaluatorType' in INLINE task's input parameters. A non-empty String value must be provided."
)
# Conductor spells the type "Inline" in this one message.
_EMPTY_EXPRESSION: Final = (
    "Empty 'expression' in Inline task's input parameters. A non-empty String value must be provided."
)
_EMPTY_LAMBDA: Final = (
    "Empty 'scriptExpression' in Lambda task's input parameters. A non-empty String value must be provided."
)


def _script(value: Any) -> str | None:
    """The script text, or None when it is missing, blank or not a string."""
    return value if isinstance(value, str) and value.strip() else None


def _failure(status: TaskStatus, message: str) -> Outcome:
    return Outcome(status, {"error": message}, message)


class _ScriptOperator(SyncOperator):
    """A script-running type; ``time_limit_ms`` bounds each evaluation (an overrun is a script error)."""

    def __init__(self, time_limit_ms: int = DEFAULT_TIME_LIMIT_MS) -> None:
        self.time_limit_ms = time_limit_ms


class InlineOperator(_ScriptOperator):
    task_types = (TaskType.INLINE,)

    def run(self, decision: Decision, workflow_task: WorkflowTask, input_data: dict[str, Any]) -> Outcome:
        evaluator = input_data.get("evaluatorType")
        if evaluator is None:
            evaluator = JAVASCRIPT  # Conductor's default since evaluatorType became optional
        if isinstance(evaluator, str) and not evaluator.strip():
            return _failure(TaskStatus.FAILED_WITH_TERMINAL_ERROR, _EMPTY_EVALUATOR)
        if evaluator not in (*_JAVASCRIPT_NAMES, VALUE_PARAM):
            message = f"Unknown evaluator '{java_text(evaluator)}' in INLINE task."
            return _failure(TaskStatus.FAILED_WITH_TERMINAL_ERROR, message)
        expression = _script(input_data.get("expression"))
        if expression is None:
            return _failure(TaskStatus.FAILED_WITH_TERMINAL_ERROR, _EMPTY_EXPRESSION)
        if evaluator == VALUE_PARAM:
            return Outcome(TaskStatus.COMPLETED, {"result": input_data.get(expression)})
        try:
            result = evaluate(expression, input_data, time_limit_ms=self.time_limit_ms)
        except ScriptError as error:
            return _failure(TaskStatus.FAILED_WITH_TERMINAL_ERROR, str(error))
        return Outcome(TaskStatus.COMPLETED, {"result": result})


class LambdaOperator(_ScriptOperator):
    """``scriptExpression`` is a function body: the value is what it ``return``s."""

    task_types = (TaskType.LAMBDA,)

    def run(self, decision: Decision, workflow_task: WorkflowTask, input_data: dict[str, Any]) -> Outcome:
        script = _script(input_data.get("scriptExpression"))
        if script is None:
            return Outcome(TaskStatus.FAILED, reason=_EMPTY_LAMBDA)
        try:
            result = evaluate_function_body(script, input_data, time_limit_ms=self.time_limit_ms)
        except ScriptError as error:
            return _failure(TaskStatus.FAILED, str(error))
        return Outcome(TaskStatus.COMPLETED, {"result": result})
