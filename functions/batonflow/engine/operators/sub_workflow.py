"""SUB_WORKFLOW and START_WORKFLOW (REFERENCE §4.8, §4.9): tasks that start another workflow.

Deciding never starts anything itself: the task is created IN_PROGRESS with the id of the workflow to start
fixed in advance (a name-based UUID of the task attempt, so starting is idempotent), and the plan carries a
:class:`~batonflow.engine.plan.ChildStart` that the executor performs after the commit. A SUB_WORKFLOW task
then waits for its child: the child's end is reported into it like a worker result (COMPLETED, FAILED,
TIMED_OUT, or CANCELED for a terminated child). A START_WORKFLOW task completes once the workflow is started.
A retried SUB_WORKFLOW attempt starts a new child.
"""

from __future__ import annotations

import uuid
from typing import Any

from batonflow.engine.context import Decision, reference_for
from batonflow.engine.inputs import resolve_parameters, resolve_task_input
from batonflow.engine.operators.base import AttemptOperator, Operator, new_task
from batonflow.engine.plan import ChildStart
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask

_CHILD_NAMESPACE = uuid.UUID("8a0c3f3e-41d5-4a55-9f55-3b8e8b9c2d17")


def workflow_id_for(task_id: str) -> str:
    return str(uuid.uuid5(_CHILD_NAMESPACE, task_id))


class SubWorkflowOperator(AttemptOperator):
    task_types = (TaskType.SUB_WORKFLOW,)

    def create(
        self,
        decision: Decision,
        workflow_task: WorkflowTask,
        iteration: int,
        *,
        retry_count: int,
        retried: Task | None = None,
    ) -> Task:
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), retry_count)
        child_id = workflow_id_for(task_id)
        params = workflow_task.sub_workflow_param
        raw = params.model_dump(mode="json", by_alias=True, exclude_none=True) if params else {}
        inline_definition = raw.get("workflowDefinition")
        if isinstance(inline_definition, dict):
            raw.pop("workflowDefinition")  # an inline definition's ${...} belong to the child (§4.8)
        resolved = resolve_parameters(decision, raw)
        if isinstance(inline_definition, dict):
            resolved["workflowDefinition"] = inline_definition
        workflow_input = resolve_task_input(decision, workflow_task, None, task_id)
        input_data: dict[str, Any] = {
            "subWorkflowName": resolved.get("name"),
            "subWorkflowVersion": resolved.get("version"),
            "subWorkflowTaskToDomain": resolved.get("taskToDomain"),
            "subWorkflowDefinition": resolved.get("workflowDefinition"),
            "priority": resolved.get("priority"),
            "idempotencyKey": resolved.get("idempotencyKey"),
            "idempotencyStrategy": resolved.get("idempotencyStrategy"),
            "workflowInput": workflow_input,
        }
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.SUB_WORKFLOW,
            status=TaskStatus.IN_PROGRESS,
            input_data=input_data,
            iteration=iteration,
            retry_count=retry_count,
            retried_task_id=retried.task_id if retried else None,
            reason_for_incompletion=retried.reason_for_incompletion if retried else None,
            sub_workflow_id=child_id,
            output_data={"subWorkflowId": child_id},
        )
        decision.add_task(task)
        request = {
            "name": resolved.get("name") or "",
            "version": resolved.get("version"),
            "input": workflow_input or {k: v for k, v in input_data.items() if v is not None},
            "workflowDef": resolved.get("workflowDefinition"),
            "correlationId": decision.workflow.correlation_id,
            "taskToDomain": resolved.get("taskToDomain") or decision.workflow.task_to_domain,
            "priority": resolved.get("priority") or 0,
        }
        decision.start_child(ChildStart(task, child_id, {k: v for k, v in request.items() if v is not None}))
        return task


class StartWorkflowOperator(Operator):
    """Fire and forget: the started workflow has no link to this one; the task completes once it started."""

    task_types = (TaskType.START_WORKFLOW,)

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), 0)
        input_data = resolve_task_input(decision, workflow_task, workflow_task.task_definition, task_id)
        request = input_data.get("startWorkflow")
        if not isinstance(request, dict) or not request.get("name"):
            task = new_task(
                decision,
                workflow_task,
                task_type=TaskType.START_WORKFLOW,
                status=TaskStatus.FAILED,
                input_data=input_data,
                iteration=iteration,
                reason_for_incompletion="'startWorkflow' input must be a map with a 'name'",
            )
            decision.add_task(task)
            return [task]
        started_id = workflow_id_for(task_id)
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.START_WORKFLOW,
            status=TaskStatus.IN_PROGRESS,
            input_data=input_data,
            iteration=iteration,
        )
        decision.add_task(task)
        defaults = {
            "correlationId": decision.workflow.correlation_id,
            "taskToDomain": decision.workflow.task_to_domain,
        }
        full_request = {**{k: v for k, v in defaults.items() if v}, **request}
        decision.start_child(ChildStart(task, started_id, full_request, is_child=False))
        return [task]
