"""DO_WHILE (REFERENCE §4.7): run ``loopOver`` again while ``loopCondition`` holds, or once per list item.

The loop task stays IN_PROGRESS and is re-evaluated on every decide. Iteration N's body tasks are ordinary
tasks named ``<ref>__N``. When every body task of the current iteration has finished and none has a
successor left to schedule, the iteration's outputs are recorded under ``"N"`` and the condition is
evaluated over the loop's re-resolved inputs, its own output (``$.<loopRef>``) and each body task's output
(``$.<bodyRef>``): true starts iteration N+1, false completes the loop. The loop task's ``iteration`` field
and its output's ``iteration`` both hold the current iteration (``${loopRef.iteration}`` reads it).

List iteration: ``items`` (or Orkes' ``inputParameters._items``) is resolved when the loop is reached and
again when each iteration ends, as Conductor does. An empty list completes the loop at once with
``iteration: 0``. Before iteration N's body is scheduled, ``loopIndex = N-1`` and ``loopItem = items[N-1]``
are written to the loop's output (the body reads ``${loopRef.output.loopItem}``); the condition also sees
them as ``$.loopIndex``/``$.loopItem``, is optional, and the loop goes on while items remain **and** the
condition, if any, is true. A value that is not a list fails the loop with FAILED_WITH_TERMINAL_ERROR.
Conductor instead reads null as an empty list and wraps any other value in a one-item list; we refuse both
rather than silently loop over something the author did not mean (e.g. a misspelt input).

``keepLastN: K`` (an integer literal >= 1 in ``inputParameters``; anything else is ignored): at iteration
N > K the output keys ``"1"``..``"N-K"`` are dropped and the body attempts of those iterations are removed
(``Decision.remove_tasks``; the executor deletes the stored items after its header commit). It is checked
on every decide while the loop runs, so items a crash left behind after a commit go with the next decide.
Like Conductor, body attempts are found through the static ``loopOver`` hierarchy: the tasks a dynamic
fork inside the body created are kept.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine.context import Decision, loop_reference, reference_for
from batonflow.engine.document import LOOP_SUFFIX, base_reference
from batonflow.engine.expressions import resolve
from batonflow.engine.flow import Next, next_in_flow
from batonflow.engine.inputs import resolve_parameters, resolve_task_input
from batonflow.engine.jsonpath import java_text
from batonflow.engine.operators.base import Operator, new_task
from batonflow.engine.scripting import ScriptError, evaluate, truthy
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask
from batonflow.model.definitions import ORKES_ITEMS_PARAMETER

ITERATION = "iteration"
LOOP_INDEX = "loopIndex"
LOOP_ITEM = "loopItem"
KEEP_LAST_N = "keepLastN"


def _body_references(loop: WorkflowTask) -> list[str]:
    return [nested.task_reference_name for task in loop.loop_over for nested in task.all_tasks()]


class _NotAList(Exception):
    pass


def _items(decision: Decision, loop: WorkflowTask, task_id: str) -> list[Any]:
    """The list a loop iterates over now: ``items`` first, ``_items`` if that gives null (``_NotAList``)."""
    value = None
    written: Any = None
    if loop.items and loop.items.strip():
        written = loop.items
        value = _resolve(decision, written, task_id)
    if value is None and ORKES_ITEMS_PARAMETER in loop.input_parameters:
        written = loop.input_parameters[ORKES_ITEMS_PARAMETER]
        value = _resolve(decision, written, task_id)
    if not isinstance(value, list):
        raise _NotAList(
            f"items {java_text(written)} of DO_WHILE {loop.task_reference_name} must be a list, "
            f"but found {java_text(value)}"
        )
    return value


def _resolve(decision: Decision, value: Any, task_id: str) -> Any:
    return resolve(value, decision.document(), task_id=task_id, environment=decision.state.environment)


def _loop_variables(items: list[Any], iteration: int) -> dict[str, Any]:
    """``loopIndex``/``loopItem`` of an iteration (no ``loopItem`` if the list has no such element)."""
    index = iteration - 1
    return {LOOP_INDEX: index, LOOP_ITEM: items[index]} if index < len(items) else {LOOP_INDEX: index}


def _keep_last_n(loop: WorkflowTask) -> int | None:
    value = loop.input_parameters.get(KEEP_LAST_N)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


class DoWhileOperator(Operator):
    task_types = (TaskType.DO_WHILE,)
    retriable = False
    waits_on_others = True

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        reference = reference_for(workflow_task, iteration)
        task_id = decision.new_task_id(reference, 0)
        status, first, variables, reason = TaskStatus.IN_PROGRESS, 1, {}, None
        if workflow_task.iterates_items:
            try:
                items = _items(decision, workflow_task, task_id)
            except _NotAList as error:
                status, first, reason = TaskStatus.FAILED_WITH_TERMINAL_ERROR, 0, str(error)
            else:
                if items:
                    variables = _loop_variables(items, 1)
                else:
                    status, first = TaskStatus.COMPLETED, 0
        task = new_task(
            decision,
            workflow_task,
            task_type=TaskType.DO_WHILE,
            status=status,
            input_data=resolve_task_input(decision, workflow_task, workflow_task.task_definition, task_id),
            iteration=first,
            reference_name=reference,
            output_data={ITERATION: first, **variables},
            reason_for_incompletion=reason,
        )
        decision.add_task(task)
        if status == TaskStatus.IN_PROGRESS and workflow_task.loop_over:
            decision.schedule(workflow_task.loop_over[0], 1)
        return [task]

    def execute(self, decision: Decision, task: Task) -> None:
        loop = task.workflow_task
        if loop is None:
            return
        current = int(task.output_data.get(ITERATION, 1))
        task = self._forget_old_iterations(decision, task, loop, current)
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

    def _forget_old_iterations(
        self, decision: Decision, task: Task, loop: WorkflowTask, current: int
    ) -> Task:
        """``keepLastN``: drop the output keys and body attempts of iterations before the last K."""
        keep = _keep_last_n(loop)
        if keep is None or current <= keep:
            return task
        last_dropped = current - keep
        body = set(_body_references(loop))
        decision.remove_tasks(
            [
                t.task_id
                for t in decision.tasks()
                if t.iteration <= last_dropped and base_reference(t.reference_task_name) in body
            ]
        )
        kept = {
            key: value
            for key, value in task.output_data.items()
            if not (key.isdecimal() and int(key) <= last_dropped)
        }
        if len(kept) == len(task.output_data):
            return task
        pruned = task.model_copy(update={"output_data": kept})
        decision.update_task(pruned)
        return pruned

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
        items: list[Any] | None = None
        if loop.iterates_items:
            try:
                items = _items(decision, loop, task.task_id)
            except _NotAList as error:
                self._finish(
                    decision, task, current, outputs, TaskStatus.FAILED_WITH_TERMINAL_ERROR, str(error)
                )
                return
        again = items is not None
        if loop.loop_condition and loop.loop_condition.strip():
            condition_input = {
                **resolve_parameters(decision, loop.input_parameters),
                loop.task_reference_name: output,
                **outputs,
                **(_loop_variables(items, current) if items is not None else {}),
            }
            try:
                again = truthy(evaluate(loop.loop_condition, condition_input))
            except ScriptError as error:
                reason = f"Unable to evaluate condition {loop.loop_condition}, exception {error}"
                self._finish(decision, task, current, outputs, TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason)
                return
        if items is not None:
            again = again and current < len(items)
        if not again:
            self._finish(decision, task, current, outputs, TaskStatus.COMPLETED, None)
            return
        following = {**output, ITERATION: current + 1}
        if items is not None:
            following.update(_loop_variables(items, current + 1))
        decision.update_task(task.model_copy(update={"output_data": following, "iteration": current + 1}))
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
