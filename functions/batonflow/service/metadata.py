"""Workflow and task definitions (``/api/metadata``), validated before anything is stored.

A request with several definitions is validated as a whole first: one invalid definition refuses the whole
call and stores nothing (REFERENCE §5.1).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from batonflow.errors import BadRequestError, ConflictError, NotFoundError, ValidationFailedError
from batonflow.model import TaskDef, WorkflowDef
from batonflow.model.validation import validate_task_def, validate_workflow_def
from batonflow.service.runtime import Runtime
from batonflow.store import errors as store_errors

ModelT = TypeVar("ModelT", bound=BaseModel)


def _pydantic_items(error: ValidationError, prefix: str) -> list[dict[str, Any]]:
    items = []
    for detail in error.errors(include_url=False):
        location = ".".join(str(p) for p in detail["loc"])
        entry: dict[str, Any] = {
            "path": f"{prefix}.{location}" if location else prefix,
            "message": detail["msg"],
        }
        value = detail.get("input")
        if isinstance(value, str | int | float | bool):
            entry["invalidValue"] = value
        items.append(entry)
    return items


def parse(model: type[ModelT], data: Any, what: str) -> ModelT:
    """Parse a request value into a model, or raise a 400 with per-field validation errors."""
    if not isinstance(data, dict):
        raise BadRequestError(f"{what} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailedError(_pydantic_items(error, what)) from error


def _check(items: list[Any], prefix: str) -> list[dict[str, Any]]:
    errors = []
    for item in items:
        entry = item.model_dump(by_alias=True, exclude_none=True)
        entry["path"] = f"{prefix}.{entry['path']}" if entry.get("path") else prefix
        errors.append(entry)
    return errors


def _as_list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise BadRequestError(f"{what} must be a JSON array")
    return data


# -- task definitions ---------------------------------------------------------------------------------
def parse_task_defs(data: Any) -> list[TaskDef]:
    definitions = [parse(TaskDef, d, f"taskDefs[{i}]") for i, d in enumerate(_as_list(data, "taskDefs"))]
    errors = [e for i, d in enumerate(definitions) for e in _check(validate_task_def(d), f"taskDefs[{i}]")]
    if errors:
        raise ValidationFailedError(errors)
    return definitions


def register_task_defs(runtime: Runtime, data: Any) -> None:
    now = runtime.clock()
    for definition in parse_task_defs(data):
        runtime.definitions.put_task(
            definition.model_copy(update={"create_time": definition.create_time or now})
        )


def update_task_def(runtime: Runtime, data: Any) -> None:
    definition = parse(TaskDef, data, "taskDef")
    errors = _check(validate_task_def(definition), "taskDef")
    if errors:
        raise ValidationFailedError(errors)
    existing = runtime.definitions.get_task(definition.name)
    if existing is None:
        raise NotFoundError(f"No such task by name {definition.name}")
    runtime.definitions.put_task(
        definition.model_copy(update={"create_time": existing.create_time, "update_time": runtime.clock()})
    )


def get_task_def(runtime: Runtime, name: str) -> TaskDef:
    definition = runtime.definitions.get_task(name)
    if definition is None:
        raise NotFoundError(f"No such taskType found by name: {name}")
    return definition


def delete_task_def(runtime: Runtime, name: str) -> None:
    if not runtime.definitions.delete_task(name):
        raise NotFoundError(f"No such taskType found by name: {name}")


# -- workflow definitions -----------------------------------------------------------------------------
def parse_workflow_def(data: Any, what: str = "workflowDef") -> WorkflowDef:
    definition = parse(WorkflowDef, data, what)
    errors = _check(validate_workflow_def(definition), what)
    if errors:
        raise ValidationFailedError(errors)
    return definition


def register_workflow_def(runtime: Runtime, data: Any, *, overwrite: bool) -> None:
    definition = parse_workflow_def(data)
    stamped = definition.model_copy(update={"create_time": definition.create_time or runtime.clock()})
    try:
        runtime.definitions.put_workflow(stamped, overwrite=overwrite)
    except store_errors.ConflictError as error:
        raise ConflictError(
            f"Workflow with {definition.name}.{definition.version} already exists!"
        ) from error


def upsert_workflow_defs(runtime: Runtime, data: Any) -> dict[str, Any]:
    """PUT /metadata/workflow: validate every definition, then store them all (BulkResponse)."""
    definitions = [
        parse_workflow_def(d, f"workflowDefs[{i}]") for i, d in enumerate(_as_list(data, "workflowDefs"))
    ]
    now = runtime.clock()
    for definition in definitions:
        runtime.definitions.put_workflow(
            definition.model_copy(update={"update_time": now, "create_time": definition.create_time or now}),
            overwrite=True,
        )
    return {"bulkSuccessfulResults": [d.name for d in definitions], "bulkErrorResults": {}}


def get_workflow_def(runtime: Runtime, name: str, version: int | None) -> WorkflowDef:
    definition = runtime.definitions.get_workflow(name, version)
    if definition is None:
        raise NotFoundError(f"No such workflow found by name: {name}, version: {version}")
    return definition


def delete_workflow_def(runtime: Runtime, name: str, version: int) -> None:
    if not runtime.definitions.delete_workflow(name, version):
        raise NotFoundError(f"No such workflow found by name: {name}, version: {version}")
