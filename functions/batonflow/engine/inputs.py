"""Task input: ``inputParameters`` resolved over the workflow's document (REFERENCE §2.1, §2.6)."""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision
from batonflow.engine.expressions import resolve
from batonflow.model import TaskDef, WorkflowTask


def resolve_task_input(
    decision: Decision, workflow_task: WorkflowTask, task_def: TaskDef | None, task_id: str
) -> dict[str, Any]:
    """Resolve a task's input, honouring its TaskDef ``inputTemplate``.

    Template keys missing from ``inputParameters`` are added before resolution; afterwards any key whose
    value resolved to null takes the template's raw value (Conductor's order, quirks included). An attempt
    given an input of its own (``Decision.input_overrides``) takes that as it is, unresolved.
    """
    override = decision.input_overrides.get(task_id)
    if override is not None:
        return dict(override)
    template = task_def.input_template if task_def else {}
    parameters: dict[str, Any] = dict(workflow_task.input_parameters)
    for key, value in template.items():
        parameters.setdefault(key, value)
    resolved = resolve(
        parameters, decision.document(), task_id=task_id, environment=decision.state.environment
    )
    for key, value in resolved.items():
        if value is None and key in template:
            resolved[key] = template[key]
    return resolved


def resolve_parameters(decision: Decision, parameters: dict[str, Any]) -> dict[str, Any]:
    """Resolve a plain parameter map (workflow ``outputParameters``) with no task id."""
    return resolve(parameters, decision.document(), environment=decision.state.environment)
