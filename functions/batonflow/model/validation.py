"""Registration-time checks of definitions and requests, with Conductor's messages (REFERENCE 6).

Conductor runs these as bean-validation constraints (``WorkflowDef``/``TaskDef``/``WorkflowTask``
annotations, ``TaskReferenceNameUniqueConstraint``, ``TaskTimeoutConstraint``, ``ConstraintParamUtil``,
``core/validations/WorkflowTaskTypeConstraint.java``) and answers every violation of one request together in
one 400. Here each ``validate_*`` function returns the list of violations (empty = valid); the API renders
them with ``ErrorResponse.validation_failed``. Messages are Conductor's, typos included ("atleast"), because
users grep logs and tests for them. ``path`` is readable (``tasks[1].decisionCases[yes][0].name``) rather than
the bean validator's ``registerWorkflowDef.workflowDef...``; no client parses it.

Where we knowingly differ from Conductor:

* Loop bodies (``loopOver``) are not cascaded by Conductor's validator at all; we still require ``name``
  and ``taskReferenceName`` there, because the engine cannot run an unnamed task (Conductor fails such a
  workflow at run time). Type rules are not applied inside loop bodies, as in Conductor.
* A DO_WHILE iterating over ``items`` (or Orkes' ``inputParameters._items``) may omit ``loopCondition``,
  as Orkes and Conductor's documentation allow; Conductor's validator still demands it (REFERENCE 6.1).
* A bare ``${NAME}`` in a top-level ``inputParameters`` is accepted by Conductor when NAME is any environment
  variable or JVM property of the server. We accept only Conductor's system parameters plus the names the
  caller allows (``ValidationRules.env_names``), so a definition's validity does not depend on the Lambda
  environment (REFERENCE 2.5).
* JsonPath "compilability" is approximated (blank path, whitespace or unbalanced brackets outside quotes);
  JavaScript syntax is checked only if the caller passes ``check_script`` (the expression engine lives
  elsewhere). WAIT ``until`` dates are checked against the three accepted shapes, not parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from batonflow.model.definitions import TaskDef, WorkflowDef, WorkflowTask
from batonflow.model.enums import TaskType
from batonflow.model.execution import StartWorkflowRequest, TaskResult, ValidationErrorItem
from batonflow.model.task_rules import SYSTEM_PARAMETERS, TYPE_RULES, ValidationRules, input_reference_errors

__all__ = [
    "SYSTEM_PARAMETERS",
    "ValidationRules",
    "validate_start_request",
    "validate_task_def",
    "validate_task_defs",
    "validate_task_result",
    "validate_workflow_def",
]

_DEFAULT_RULES = ValidationRules()


class _Errors:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[ValidationErrorItem] = []

    def add(self, path: str, message: str, invalid_value: Any = None) -> None:
        full = f"{self.prefix}.{path}" if self.prefix and path else (self.prefix or path)
        item = ValidationErrorItem(path=full, message=message, invalid_value=_simple(invalid_value))
        self.items.append(item)


def _simple(value: Any) -> str | None:
    """Java's ``invalidValue``: the text of a simple value, nothing for objects or null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


# --- task definitions -------------------------------------------------------------------------------


def validate_task_def(
    d: TaskDef, rules: ValidationRules | None = None, *, path: str = ""
) -> list[ValidationErrorItem]:
    """``POST/PUT /api/metadata/taskdefs`` rules for one definition (REFERENCE 6.2)."""
    rules = rules or _DEFAULT_RULES
    errors = _Errors(path)
    if not d.name:
        errors.add("name", "TaskDef name cannot be null or empty")
    minimums = (
        ("retryCount", d.retry_count, 0, "TaskDef retryCount: 0 must be >= 0"),
        ("responseTimeoutSeconds", d.response_timeout_seconds, 1,
         f"TaskDef responseTimeoutSeconds: {d.response_timeout_seconds} should be minimum 1 second"),
        ("pollTimeoutSeconds", d.poll_timeout_seconds, 0, "TaskDef pollTimeoutSeconds: 0 must be >= 0"),
        ("backoffScaleFactor", d.backoff_scale_factor, 1,
         "Backoff scale factor. Applicable for LINEAR_BACKOFF"),
        ("maxRetryDelaySeconds", d.max_retry_delay_seconds, 0,
         "TaskDef maxRetryDelaySeconds: 0 must be >= 0"),
        ("backoffJitterMs", d.backoff_jitter_ms, 0, "TaskDef backoffJitterMs: 0 must be >= 0"),
        ("totalTimeoutSeconds", d.total_timeout_seconds, 0, "TaskDef totalTimeoutSeconds: 0 must be >= 0"),
    )  # fmt: skip
    for field, value, minimum, message in minimums:
        if value is not None and value < minimum:
            errors.add(field, message, value)
    if d.timeout_seconds > 0 and d.response_timeout_seconds > d.timeout_seconds:
        errors.add(
            "responseTimeoutSeconds",
            f"TaskDef: {d.name} responseTimeoutSeconds: {d.response_timeout_seconds} "
            f"must be less than timeoutSeconds: {d.timeout_seconds}",
        )
    if d.timeout_seconds > 0 and 0 < d.total_timeout_seconds < d.timeout_seconds:
        errors.add(
            "timeoutSeconds",
            f"TaskDef: {d.name} timeoutSeconds: {d.timeout_seconds} "
            f"must be less than or equal to totalTimeoutSeconds: {d.total_timeout_seconds}",
        )
    if rules.owner_email_mandatory and not d.owner_email:
        errors.add("ownerEmail", "ownerEmail cannot be empty")
    return errors.items


def validate_task_defs(
    defs: list[TaskDef], rules: ValidationRules | None = None
) -> list[ValidationErrorItem]:
    """``POST /api/metadata/taskdefs`` takes a non-empty array."""
    if not defs:
        return [ValidationErrorItem(path="", message="TaskDefList is empty")]
    return [e for i, d in enumerate(defs) for e in validate_task_def(d, rules, path=f"[{i}]")]


# --- workflow definitions ---------------------------------------------------------------------------


def validate_workflow_def(
    d: WorkflowDef, rules: ValidationRules | None = None, *, path: str = ""
) -> list[ValidationErrorItem]:
    """Registration rules for a workflow definition (REFERENCE 6.1), also used for inline definitions."""
    rules = rules or _DEFAULT_RULES
    errors = _Errors(path)
    if not d.name:
        errors.add("name", "WorkflowDef name cannot be null or empty")
    if not d.tasks:
        errors.add("tasks", "WorkflowTask list cannot be empty")
    if d.schema_version != 2:
        errors.add("schemaVersion", "workflowDef schemaVersion: 2 is only supported", d.schema_version)
    if rules.owner_email_mandatory and not d.owner_email:
        errors.add("ownerEmail", "ownerEmail cannot be empty")
    for i, task in enumerate(d.tasks):
        _check_task(task, f"tasks[{i}]", True, rules, errors)

    refs: set[str] = set()
    for task in d.all_tasks():
        ref = task.task_reference_name
        if ref in refs:  # one violation per repeated occurrence, as in Java
            errors.add(
                "tasks",
                f"taskReferenceName: {ref} should be unique across tasks for a given "
                f"workflowDefinition: {d.name}",
                ref,
            )
        elif ref:
            refs.add(ref)

    for i, task in enumerate(d.tasks):
        for message in input_reference_errors(task.input_parameters, task.name, refs, rules):
            errors.add(f"tasks[{i}].inputParameters", message)
    _check_join_references(d, refs, errors)
    return errors.items


def _check_join_references(d: WorkflowDef, refs: set[str], errors: _Errors) -> None:
    """A JOIN or EXCLUSIVE_JOIN naming a task the definition does not have could never complete.

    Conductor accepts such a definition and the JOIN waits forever; Baton refuses it at registration.
    """
    for task in d.all_tasks():
        if task.task_type not in (TaskType.JOIN, TaskType.EXCLUSIVE_JOIN):
            continue
        for ref in [*task.join_on, *task.default_exclusive_join_task]:
            if ref not in refs:
                join = f"{task.type} {task.task_reference_name}"
                message = f"joinOn task {ref} of {join} is not in workflow {d.name}"
                errors.add("tasks", message, ref)


def _check_task(
    task: WorkflowTask, path: str, cascaded: bool, rules: ValidationRules, errors: _Errors
) -> None:
    """One task and, recursively, every task written inside it (by field, as bean validation cascades)."""
    if not task.name:
        errors.add(f"{path}.name", "WorkflowTask name cannot be empty or null")
    if not task.task_reference_name:
        errors.add(f"{path}.taskReferenceName", "WorkflowTask taskReferenceName name cannot be empty or null")
    if cascaded:
        if task.start_delay < 0:
            errors.add(f"{path}.startDelay", "must be greater than or equal to 0", task.start_delay)
        type_rule = TYPE_RULES.get(task.type)
        if type_rule is not None:
            for message in type_rule(task, rules):
                errors.add(path, message)
    for child, child_path, child_cascaded in _written_children(task, path, cascaded):
        _check_task(child, child_path, child_cascaded, rules, errors)


def _written_children(
    task: WorkflowTask, path: str, cascaded: bool
) -> Iterator[tuple[WorkflowTask, str, bool]]:
    """Every task nested in any field, whatever the type; Conductor never cascades into ``loopOver``."""
    for case, branch in task.decision_cases.items():
        for i, child in enumerate(branch):
            yield child, f"{path}.decisionCases[{case}][{i}]", cascaded
    for i, child in enumerate(task.default_case):
        yield child, f"{path}.defaultCase[{i}]", cascaded
    for i, branch in enumerate(task.fork_tasks):
        for j, child in enumerate(branch):
            yield child, f"{path}.forkTasks[{i}][{j}]", cascaded
    for i, child in enumerate(task.loop_over):
        yield child, f"{path}.loopOver[{i}]", False


# --- requests ---------------------------------------------------------------------------------------


def validate_start_request(
    r: StartWorkflowRequest, rules: ValidationRules | None = None
) -> list[ValidationErrorItem]:
    """``POST /api/workflow`` body rules (REFERENCE 6.3); an inline definition is checked as at registration.

    An explicit ``"input": null`` is not a bean violation in Conductor but a plain 400 with the message
    ``NULL input passed when starting workflow``; the API checks ``r.input is None`` itself.
    """
    errors = _Errors("")
    if r.name is None:
        errors.add("name", "Workflow name cannot be null or empty")
    if r.priority < 0:
        errors.add("priority", f"priority: {r.priority} should be minimum 0", r.priority)
    elif r.priority > 99:
        errors.add("priority", f"priority: {r.priority} should be maximum 99", r.priority)
    if r.workflow_def is not None:
        errors.items += validate_workflow_def(r.workflow_def, rules, path="workflowDef")
    return errors.items


def validate_task_result(r: TaskResult) -> list[ValidationErrorItem]:
    """Worker updates must name their workflow and task (REFERENCE 6.4)."""
    errors = _Errors("")
    if not r.workflow_instance_id:
        errors.add("workflowInstanceId", "Workflow Id cannot be null or empty")
    if not r.task_id:
        errors.add("taskId", "Task ID cannot be null or empty")
    return errors.items
