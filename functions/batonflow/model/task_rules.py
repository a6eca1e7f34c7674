"""The per-type rules of ``WorkflowTaskTypeConstraint`` and the ``${...}`` checks of ``ConstraintParamUtil``.

Split out of :mod:`batonflow.model.validation`, which applies them; see its docstring for where and why we
differ from Conductor. ``TYPE_RULES`` is the registry: one function per task type that has rules, each
returning Conductor's messages for one WorkflowTask.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from batonflow.model.definitions import TaskDef, WorkflowTask
from batonflow.model.enums import TaskType

SYSTEM_PARAMETERS = frozenset({"CPEWF_TASK_ID", "NETFLIX_ENV", "NETFLIX_STACK"})
_TERMINATION_STATUSES = frozenset({"COMPLETED", "FAILED", "TERMINATED"})
SQS_SINK_PREFIX = "sqs:"
"""The only EVENT sink Baton publishes to: ``sqs:<queue name>`` (REFERENCE 4.18)."""
_REQUIRED = "{field} field is required for taskType: {type} taskName: {name}"
_AT_LEAST_ONE = "{field} should have atleast one task for taskType: {type} taskName: {name}"
# DateTimeUtils.DURATION_PATTERN: units in the order d, h, m, s, each at most once (groups: the amounts).
WAIT_DURATION = re.compile(
    r"\s*(?:(\d+)\s*(?:days?|d))?\s*(?:(\d+)\s*(?:hours?|hrs?|h))?"
    r"\s*(?:(\d+)\s*(?:minutes?|mins?|m))?\s*(?:(\d+)\s*(?:seconds?|secs?|s))?\s*",
    re.IGNORECASE,
)
# DateTimeUtils.DATE_PATTERNS: "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm z", "yyyy-MM-dd" (lenient digits).
WAIT_DATE = re.compile(r"(\d{1,4})-(\d{1,2})-(\d{1,2})(?: (\d{1,2}):(\d{1,2})(?: (\S.*))?)?")
# ConstraintParamUtil: split before every "${" not preceded by "$", and after every "}".
_EXPRESSION_SPLIT = re.compile(r"(?=(?<!\$)\$\{)|(?<=\})")


@dataclass(frozen=True, slots=True)
class ValidationRules:
    """What a check needs from outside the definition. The defaults match Conductor's shipped server."""

    # Registered task definitions by name: HTTP/KAFKA_PUBLISH/JSON_JQ_TRANSFORM may carry their required
    # input in the def's inputTemplate instead of in inputParameters.
    task_defs: Callable[[str], TaskDef | None] | None = None
    # Bare ${NAME} expressions accepted besides SYSTEM_PARAMETERS.
    env_names: frozenset[str] = frozenset()
    owner_email_mandatory: bool = False
    # Raises (any exception, whose text is reported) if a JavaScript expression does not parse.
    check_script: Callable[[str], None] | None = None


_TypeRule = Callable[[WorkflowTask, ValidationRules], list[str]]


def _required(field: str, task: WorkflowTask) -> str:
    return _REQUIRED.format(field=field, type=task.type, name=task.name)


def _script_error(expression: str, task: WorkflowTask, rules: ValidationRules) -> list[str]:
    if rules.check_script is None:
        return []
    try:
        rules.check_script(expression)
    except Exception as exc:  # any failure of the caller's parser is a syntax error of the script
        return [f"Expression is not well formatted: {exc}, taskType: {task.type} taskName {task.name}"]
    return []


def _switch(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    messages = []
    if task.evaluator_type is None:
        messages.append(_required("evaluatorType", task))
    elif task.expression is None:
        messages.append(_required("expression", task))
    if not task.decision_cases:
        messages.append(_AT_LEAST_ONE.format(field="decisionCases", type=task.type, name=task.name))
    if task.evaluator_type == "javascript" and task.expression is not None:
        messages += _script_error(task.expression, task, rules)
    return messages


def _decision(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    messages = []
    if task.case_value_param is None and task.case_expression is None:
        messages.append(_required("caseValueParam or caseExpression", task))
    if not task.decision_cases:
        messages.append(_AT_LEAST_ONE.format(field="decisionCases", type=task.type, name=task.name))
    if task.case_expression is not None:
        messages += _script_error(task.case_expression, task, rules)
    return messages


def _do_while(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    messages = []
    if task.loop_condition is None and not task.iterates_items:
        messages.append(_required("loopCondition", task))
    if not task.loop_over:
        messages.append(_required("loopOver", task))
    return messages


def _fork_join(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    if not task.fork_tasks:
        return [_AT_LEAST_ONE.format(field="forkTasks", type=task.type, name=task.name)]
    return []


def _fork_join_dynamic(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    if "forkTaskInputs" in task.input_parameters:
        return []
    legacy = task.dynamic_fork_join_tasks_param is not None
    if legacy and (
        task.dynamic_fork_tasks_param is not None or task.dynamic_fork_tasks_input_param_name is not None
    ):
        return [
            "dynamicForkJoinTasksParam or combination of dynamicForkTasksInputParamName and "
            f"dynamicForkTasksParam cam be used for taskType: {task.type} taskName: {task.name}"
        ]
    if legacy:
        return []
    messages = []
    if task.dynamic_fork_tasks_param is None:
        messages.append(_required("dynamicForkTasksParam", task))
    if task.dynamic_fork_tasks_input_param_name is None:
        messages.append(_required("dynamicForkTasksInputParamName", task))
    return messages


def _field_required(attribute: str, field: str) -> _TypeRule:
    def rule(task: WorkflowTask, rules: ValidationRules) -> list[str]:
        return [_required(field, task)] if getattr(task, attribute) is None else []

    return rule


def _input_required(keys: Iterable[str], template_key: str, field: str) -> _TypeRule:
    """The input may come from ``inputParameters`` or from the task def's ``inputTemplate``."""

    def rule(task: WorkflowTask, rules: ValidationRules) -> list[str]:
        if any(k in task.input_parameters for k in keys):
            return []
        task_def = task.task_definition
        if task_def is None and rules.task_defs is not None:
            task_def = rules.task_defs(task.name)
        if task_def is not None and template_key in task_def.input_template:
            return []
        return [_required(field, task)]

    return rule


def sqs_sink_queue(sink: Any) -> str | None:
    """The queue name of an ``sqs:<queue name>`` EVENT sink; None for any other sink."""
    if not isinstance(sink, str) or not sink.startswith(SQS_SINK_PREFIX):
        return None
    return sink[len(SQS_SINK_PREFIX) :].strip() or None


def _event(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    """Conductor only requires ``sink``. Baton also refuses sinks it cannot publish to (``conductor``,
    ``amqp:``, ``nats:``, ``kafka:``...) at registration rather than failing every run of the task."""
    if task.sink is None:
        return [_required("sink", task)]
    if sqs_sink_queue(task.sink) is None:
        return [
            f"sink: {task.sink} is not supported for taskType: {task.type} taskName: {task.name}; "
            "use sqs:<queue name>"
        ]
    return []


def _terminate(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    messages = []
    if task.optional:
        messages.append(f"terminate task cannot be optional, taskName: {task.name}")
    status = task.input_parameters.get("terminationStatus")
    if not (isinstance(status, str) and status in _TERMINATION_STATUSES):
        messages.append(
            "terminate task must have an terminationStatus parameter and must be set to COMPLETED or FAILED, "
            f"taskName: {task.name}"
        )
    return messages


def _wait(task: WorkflowTask, rules: ValidationRules) -> list[str]:
    duration = wait_input_text(task.input_parameters.get("duration"))
    until = wait_input_text(task.input_parameters.get("until"))
    messages = []
    if duration.strip() and until.strip():
        messages.append("Both 'duration' and 'until' specified. Please provide only one input")
    if duration.strip() and not duration.startswith("${"):
        if not WAIT_DURATION.fullmatch(duration):
            messages.append("Either date or duration is passed as null ")
    elif until.strip() and not until.startswith("${") and not WAIT_DATE.fullmatch(until):
        messages.append("Unable to parse date ")
    return messages


def wait_input_text(value: Any) -> str:
    """Java ``toString`` for the simple values a WAIT input holds (anything else never parses anyway)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


TYPE_RULES: dict[str, _TypeRule] = {
    TaskType.SWITCH: _switch,
    TaskType.DECISION: _decision,
    TaskType.DO_WHILE: _do_while,
    TaskType.FORK_JOIN: _fork_join,
    TaskType.FORK_JOIN_DYNAMIC: _fork_join_dynamic,
    TaskType.DYNAMIC: _field_required("dynamic_task_name_param", "dynamicTaskNameParam"),
    TaskType.SUB_WORKFLOW: _field_required("sub_workflow_param", "subWorkflowParam"),
    TaskType.EVENT: _event,
    TaskType.HTTP: _input_required(
        ("http_request", "uri", "method"),
        "http_request",
        "inputParameters.http_request or inputParameters.uri",
    ),
    TaskType.KAFKA_PUBLISH: _input_required(
        ("kafka_request",), "kafka_request", "inputParameters.kafka_request"
    ),
    TaskType.JSON_JQ_TRANSFORM: _input_required(
        ("queryExpression",), "queryExpression", "inputParameters.queryExpression"
    ),
    TaskType.TERMINATE: _terminate,
    TaskType.WAIT: _wait,
}


# --- ${...} references in top-level inputParameters (ConstraintParamUtil) ---------------------------


def input_reference_errors(
    params: dict[str, Any], task_name: str, refs: set[str], rules: ValidationRules
) -> list[str]:
    """Messages for every ``${x...}`` in ``params`` (walked recursively) whose root ``x`` is not
    ``workflow``, a system/allowed name or one of ``refs``, and for paths that cannot be JsonPaths."""
    messages: list[str] = []
    for key, value in params.items():
        messages += _value_errors(key, value, task_name, refs, rules)
    return messages


def _value_errors(key: str, value: Any, task_name: str, refs: set[str], rules: ValidationRules) -> list[str]:
    if isinstance(value, str):
        return _string_errors(key, value, task_name, refs, rules)
    if isinstance(value, dict):
        return input_reference_errors(value, task_name, refs, rules)
    if isinstance(value, list):
        return [m for item in value for m in _value_errors(key, item, task_name, refs, rules)]
    return []


def _string_errors(key: str, value: str, task_name: str, refs: set[str], rules: ValidationRules) -> list[str]:
    messages = []
    for piece in _EXPRESSION_SPLIT.split(value):
        if not (piece.startswith("${") and piece.endswith("}")):
            continue
        path = piece[2:-1]
        if not _looks_like_json_path(path):
            messages.append(f"key: {key} input parameter value: {path} is not valid")
        elif path in SYSTEM_PARAMETERS or path in rules.env_names:
            continue
        else:
            root = path.split(".")[0]
            if root != "workflow" and root not in refs:
                messages.append(
                    f"taskReferenceName: {root} for given task: {task_name} input value: {key} of input "
                    f"parameter: {value} is not defined in workflow definition."
                )
    return messages


def _looks_like_json_path(path: str) -> bool:
    """A cheap stand-in for ``JsonPath.compile``: catches blank paths, spaces and broken brackets."""
    if not path.strip() or path.endswith("."):
        return False
    depth, quote = 0, ""
    for ch in path:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"" and depth:
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                return False
        elif ch.isspace() and not depth:
            return False
    return depth == 0 and not quote
