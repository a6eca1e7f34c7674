"""SIMPLE and user-defined task types: work done by external workers polling a queue (REFERENCE §4.1).

A SIMPLE task's queue is its ``name``; a WorkflowTask whose ``type`` is an unknown string (USER_DEFINED) is
queued under that type string instead.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision, reference_for
from batonflow.engine.inputs import resolve_task_input
from batonflow.engine.operators.base import Operator, new_task
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask


class WorkerOperator(Operator):
    task_types = (TaskType.SIMPLE,)
    is_worker = True

    def queue_type(self, workflow_task: WorkflowTask) -> str:
        return workflow_task.name

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), 0)
        task_def = workflow_task.task_definition
        delay = workflow_task.start_delay or 0
        task = new_task(
            decision,
            workflow_task,
            task_type=self.queue_type(workflow_task),
            status=TaskStatus.SCHEDULED,
            input_data=self.input_for(decision, workflow_task, task_id),
            iteration=iteration,
            response_timeout_seconds=self._response_timeout(workflow_task),
            start_delay_in_seconds=delay,
            callback_after_seconds=delay,
            rate_limit_per_frequency=task_def.rate_limit_per_frequency if task_def else 0,
            rate_limit_frequency_in_seconds=task_def.rate_limit_frequency_in_seconds if task_def else 1,
        )
        decision.add_task(task, dispatch_delay_seconds=delay)
        return [task]

    def input_for(self, decision: Decision, workflow_task: WorkflowTask, task_id: str) -> dict[str, Any]:
        """The first attempt's ``inputData`` (system types dispatched like workers add their own keys)."""
        return resolve_task_input(decision, workflow_task, workflow_task.task_definition, task_id)

    def retry(self, decision: Decision, failed: Task, delay_seconds: int) -> Task | None:
        workflow_task = failed.workflow_task
        if workflow_task is None:
            return None
        retry_count = failed.retry_count + 1
        task_id = decision.new_task_id(failed.reference_task_name, retry_count)
        input_data = dict(failed.input_data)
        input_data.update(resolve_task_input(decision, workflow_task, workflow_task.task_definition, task_id))
        attempt = failed.model_copy(
            update={
                "task_id": task_id,
                "retried_task_id": failed.task_id,
                "retry_count": retry_count,
                "status": TaskStatus.SCHEDULED,
                "poll_count": 0,
                "seq": decision.allocate_seq(),
                "scheduled_time": decision.now,
                "start_time": 0,
                "end_time": 0,
                "update_time": decision.now,
                "worker_id": None,
                "output_data": {},
                "retried": False,
                "executed": False,
                "start_delay_in_seconds": delay_seconds,
                "callback_after_seconds": delay_seconds,
                "input_data": input_data,
            }
        )
        decision.add_task(attempt, dispatch_delay_seconds=delay_seconds)
        return attempt

    def _response_timeout(self, workflow_task: WorkflowTask) -> int:
        task_def = workflow_task.task_definition
        return task_def.response_timeout_seconds if task_def else 0


class UserDefinedOperator(WorkerOperator):
    """An unknown ``type`` string: a worker task queued under the type, with its own task def rules."""

    task_types = (TaskType.USER_DEFINED,)

    def queue_type(self, workflow_task: WorkflowTask) -> str:
        return workflow_task.type

    def _response_timeout(self, workflow_task: WorkflowTask) -> int:
        return 0
