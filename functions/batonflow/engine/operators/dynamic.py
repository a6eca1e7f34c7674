"""DYNAMIC (REFERENCE §4.20): a worker task whose name is read from its own input at scheduling time.

``dynamicTaskNameParam`` names the input parameter that holds the real task name. The task is then an
ordinary worker task of that name: queued under it, ``taskType`` = ``taskDefName`` = it, and the WorkflowTask
stored in the task has its ``name`` rewritten (its ``type`` stays DYNAMIC, which is how later decides find
this operator again). Retries, timeouts and updates follow the worker path unchanged; a retry reuses the
stored WorkflowTask, so it goes to the same queue without reading the name again.

The TaskDef is the one already embedded in the placeholder WorkflowTask (normally the ad-hoc def of the
placeholder's name), as Conductor does since its March 2026 ad-hoc-def change. ``decide()`` cannot look up
the registry, so a placeholder without any def gets none (no retries, no response timeout) instead of
Conductor's fallback to the resolved name's registered def.
"""

from __future__ import annotations

from batonflow.engine import outcome
from batonflow.engine.context import Decision, reference_for
from batonflow.engine.inputs import resolve_task_input
from batonflow.engine.jsonpath import java_text
from batonflow.engine.operators.worker import WorkerOperator
from batonflow.model import Task, TaskType, WorkflowTask


class DynamicOperator(WorkerOperator):
    task_types = (TaskType.DYNAMIC,)

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), 0)
        inputs = resolve_task_input(decision, workflow_task, workflow_task.task_definition, task_id)
        parameter = workflow_task.dynamic_task_name_param
        name = inputs.get(parameter) if parameter is not None else None
        if name is None:
            outcome.fail_workflow(
                decision,
                "Cannot map a dynamic task based on the parameter and input. "
                f"Parameter= {java_text(parameter)}, input= {java_text(inputs)}",
            )
            return []
        resolved = workflow_task.model_copy(update={"name": java_text(name)})
        return super().schedule(decision, resolved, iteration)
