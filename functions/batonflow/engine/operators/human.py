"""HUMAN (REFERENCE §4.16): a task that only an update finishes.

Created IN_PROGRESS with its resolved input (the TaskDef's ``inputTemplate`` is not applied, as in
Conductor's mapper); it is never queued, has no deadline and no response timeout. An update by task id,
or by reference (``POST /api/tasks/{workflowId}/{taskRefName}/{status}``) completes or fails it; until
then the workflow simply has nothing to do.
"""

from __future__ import annotations

from batonflow.engine.context import Decision, reference_for
from batonflow.engine.inputs import resolve_task_input
from batonflow.engine.operators.base import AttemptOperator, new_task
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask


class HumanOperator(AttemptOperator):
    task_types = (TaskType.HUMAN,)

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
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.HUMAN,
            status=TaskStatus.IN_PROGRESS,
            input_data=resolve_task_input(decision, workflow_task, None, task_id),
            iteration=iteration,
            retry_count=retry_count,
            retried_task_id=retried.task_id if retried else None,
        )
        decision.add_task(task)
        return task
