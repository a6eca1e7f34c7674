"""DO_WHILE (REFERENCE §4.7): run ``loopOver`` again while ``loopCondition`` holds.

The loop task stays IN_PROGRESS and is re-evaluated on every decide. Iteration N's body tasks are ordinary
tasks named ``<ref>__N``. When every body task of the current iteration has finished and none has a
successor left to schedule, the iteration's outputs are recorded under ``"N"`` and the condition is
evaluated over the loop's re-resolved inputs, its own output (``$.<loopRef>``) and each body task's output
(``$.<bodyRef>``): true starts iteration N+1, false completes the loop. The loop task's ``iteration`` field
and its output's ``iteration`` both hold the current iteration (``${loopRef.iteration}`` reads it).

Not supported yet: ``items`` (list iteration) and ``keepLastN``.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision, loop_reference, reference_for
from batonflow.engine.document import LOOP_SUFFIX, base_reference
from batonflow.engine.flow import Next, next_in_flow
from batonflow.engine.inputs import resolve_parameters, resolve_task_input
from batonflow.engine.operators.base import Operator, new_task
from batonflow.engine.scripting import ScriptError, evaluate, truthy
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask

ITERATION = "iteration"


def _body_references(loop: WorkflowTask) -> list[str]:
    return [nested.task_reference_name for task in loop.loop_over for nested in task.all_tasks()]


class DoWhileOperator(Operator):
    task_types = (TaskType.DO_WHILE,)
    retriable = False
    waits_on_others = True

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        reference = reference_for(workflow_task, iteration)
        task_id = decision.new_task_id(reference, 0)
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.DO_WHILE,
            status=TaskStatus.IN_PROGRESS,
            input_data=resolve_task_input(decision, workflow_task, workflow_task.task_definition, task_id),
            iteration=1,
            reference_name=reference,
            output_data={ITERATION: 1},
        )
        decision.add_task(task)
        if workflow_task.loop_over:
            decision.schedule(workflow_task.loop_over[0], 1)
        return [task]

    def execute(self, decision: Decision, task: Task) -> None:
        loop = task.workflow_task
        if loop is None:
            return
        current = int(task.output_data.get(ITERATION, 1))
        body = self._iteration_tasks(decision, loop, current)
        outputs: dict[str, Any] = {}
        for attempt in body:
            if not attempt.status.is_terminal:
                return
            outputs[base_reference(attempt.reference_task_name)] = attempt.output_data
            if not attempt.status.is_successful:
                if attempt.workflow_task is None or not attempt.workflow_task.permissive:
                    return  # the decider retries it or ends the workflow; only a permissive failure stays
                reason = f"{attempt.reason_for_incompletion} "
                self._finish(decision, task, current, outputs, TaskStatus.FAILED, reason)
                return
        if any(self._pending_successor(decision, attempt) for attempt in body):
            return
        self._iterate_or_finish(decision, task, loop, current, outputs)

    def _iteration_tasks(self, decision: Decision, loop: WorkflowTask, iteration: int) -> list[Task]:
        attempts = [decision.latest(loop_reference(ref, iteration)) for ref in _body_references(loop)]
        return sorted((a for a in attempts if a is not None), key=lambda t: t.seq)

    def _pending_successor(self, decision: Decision, attempt: Task) -> bool:
        following = decision.operator_of(attempt).successors(decision, attempt)
        return any(not decision.tasks_for(reference_for(t, i)) for t, i in following)

    def _iterate_or_finish(
        self, decision: Decision, task: Task, loop: WorkflowTask, current: int, outputs: dict[str, Any]
    ) -> None:
        output = {**task.output_data, str(current): outputs, ITERATION: current}
        if not loop.loop_condition:
            self._finish(decision, task, current, outputs, TaskStatus.COMPLETED, None)
            return
        condition_input = {
            **resolve_parameters(decision, loop.input_parameters),
            loop.task_reference_name: output,
            **outputs,
        }
        try:
            again = truthy(evaluate(loop.loop_condition, condition_input))
        except ScriptError as error:
            reason = f"Unable to evaluate condition {loop.loop_condition}, exception {error}"
            self._finish(decision, task, current, outputs, TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason)
            return
        if not again:
            self._finish(decision, task, current, outputs, TaskStatus.COMPLETED, None)
            return
        decision.update_task(
            task.model_copy(
                update={"output_data": {**output, ITERATION: current + 1}, "iteration": current + 1}
            )
        )
        decision.schedule(loop.loop_over[0], current + 1)

    def _finish(
        self,
        decision: Decision,
        task: Task,
        current: int,
        outputs: dict[str, Any],
        status: TaskStatus,
        reason: str | None,
    ) -> None:
        decision.update_task(
            task.model_copy(
                update={
                    "status": status,
                    "output_data": {**task.output_data, str(current): outputs, ITERATION: current},
                    "reason_for_incompletion": reason,
                    "end_time": decision.now,
                    "update_time": decision.now,
                }
            )
        )

    def after_branch(self, decision: Decision, container: WorkflowTask, iteration: int) -> Next:
        return []  # the loop itself decides what follows an iteration

    def successors(self, decision: Decision, task: Task) -> Next:
        """After the loop: the next task of the list the loop sits in (its own field counts iterations)."""
        reference = task.reference_task_name
        enclosing = int(reference.rsplit(LOOP_SUFFIX, 1)[1]) if LOOP_SUFFIX in reference else 0
        return next_in_flow(decision, base_reference(reference), enclosing)
