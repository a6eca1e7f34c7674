"""FORK_JOIN and FORK_JOIN_DYNAMIC (REFERENCE §4.4, §4.6).

A fork completes as soon as it is scheduled: it creates a ``FORK`` task, the first task of every branch and
the JOIN that must follow it in the same list. Each branch then runs on its own; its end hands over to the
JOIN (``after_branch`` returns nothing), which decides when the flow goes on.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine import outcome
from batonflow.engine.context import Decision, reference_for
from batonflow.engine.flow import Next
from batonflow.engine.inputs import resolve_parameters, resolve_task_input
from batonflow.engine.jsonpath import java_text
from batonflow.engine.operators.base import Operator, new_task
from batonflow.engine.operators.join import JoinOperator
from batonflow.model import FORK_TASK_TYPE, Task, TaskDef, TaskStatus, TaskType, WorkflowTask

_NO_JOIN_STATIC = "Fork task definition is not followed by a join task.  Check the blueprint"
_NO_JOIN_DYNAMIC = "Dynamic join definition is not followed by a join task.  Check the workflow definition."


def _following_join(decision: Decision, workflow_task: WorkflowTask) -> WorkflowTask | None:
    following = decision.index.next_in_list(workflow_task.task_reference_name)
    return following if following is not None and following.type == TaskType.JOIN else None


def _fork_task(
    decision: Decision, workflow_task: WorkflowTask, iteration: int, input_data: dict[str, Any]
) -> Task:
    task = new_task(
        decision,
        workflow_task,
        task_type=FORK_TASK_TYPE,
        task_def_name=FORK_TASK_TYPE,
        status=TaskStatus.COMPLETED,
        input_data=input_data,
        iteration=iteration,
    )
    decision.add_task(task)
    return task


class ForkJoinOperator(Operator):
    task_types = (TaskType.FORK_JOIN,)
    retriable = False
    runs_every_branch = True

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        join = _following_join(decision, workflow_task)
        if join is None:
            outcome.fail_workflow(decision, _NO_JOIN_STATIC)
            return []
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), 0)
        fork = _fork_task(
            decision, workflow_task, iteration, resolve_task_input(decision, workflow_task, None, task_id)
        )
        for branch in workflow_task.fork_tasks:
            if branch:
                decision.schedule(branch[0], iteration)
        decision.schedule(join, iteration)
        return [fork]

    def successors(self, decision: Decision, task: Task) -> Next:
        """The branch heads and the JOIN: created with the fork, so scheduling them is a no-op, except
        after a rerun discarded some of them (``engine.reopen``)."""
        workflow_task = task.workflow_task
        join = None if workflow_task is None else _following_join(decision, workflow_task)
        if workflow_task is None or join is None:
            return []
        heads = [(branch[0], task.iteration) for branch in workflow_task.fork_tasks if branch]
        return [*heads, (join, task.iteration)]

    def after_branch(self, decision: Decision, container: WorkflowTask, iteration: int) -> Next:
        return []  # a branch ends at the JOIN


class DynamicForkOperator(ForkJoinOperator):
    """The branches come from the input at run time: a list of tasks, or one task and a list of inputs."""

    task_types = (TaskType.FORK_JOIN_DYNAMIC,)

    def successors(self, decision: Decision, task: Task) -> Next:
        return []  # the forked tasks and the JOIN were created with the fork

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        join = _following_join(decision, workflow_task)
        if join is None:
            outcome.fail_workflow(decision, _NO_JOIN_DYNAMIC)
            return []
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), 0)
        inputs = resolve_task_input(decision, workflow_task, None, task_id)
        try:
            forks = self._forks(decision, workflow_task, inputs)
        except _BadFork as error:
            outcome.fail_workflow(decision, str(error))
            return []
        references = [reference_for(t, iteration) for t, _ in forks]
        if len(set(references)) != len(references) or any(decision.tasks_for(r) for r in references):
            outcome.fail_workflow(
                decision, f"Dynamic fork {workflow_task.task_reference_name}: duplicate refs"
            )
            return []
        # Conductor also copies every forked WorkflowTask into ``forkedTaskDefs``; with thousands of forks
        # that alone outgrows a DynamoDB item, and each forked task carries its own WorkflowTask anyway.
        fork_input = {**inputs, "forkedTasks": references}
        fork = _fork_task(decision, workflow_task, iteration, fork_input)
        for forked, fork_inputs in forks:
            decision.index.add_dynamic(forked)
            decision.operators(forked.type).schedule(
                decision, forked.model_copy(update={"input_parameters": fork_inputs}), iteration
            )
        JoinOperator().create(decision, join, iteration, references)
        return [fork]

    def _forks(
        self, decision: Decision, workflow_task: WorkflowTask, inputs: dict[str, Any]
    ) -> list[tuple[WorkflowTask, dict[str, Any]]]:
        if "forkTaskInputs" in inputs:
            if not isinstance(inputs["forkTaskInputs"], list):
                found = java_text(inputs["forkTaskInputs"])
                raise _BadFork(f"forkTaskInputs of a dynamic fork must be a list, but found {found}")
            return self._same_task_forks(decision, workflow_task, inputs)
        tasks = inputs.get(workflow_task.dynamic_fork_tasks_param or "")
        fork_inputs = inputs.get(workflow_task.dynamic_fork_tasks_input_param_name or "")
        if not isinstance(tasks, list):
            raise _BadFork(
                "Input to the dynamically forked tasks is not a list of tasks -> expecting a list "
                f"but found {java_text(tasks)}"
            )
        if not isinstance(fork_inputs, dict):
            raise _BadFork(
                "Input to the dynamically forked tasks is not a map -> expecting a map of K,V  "
                f"but found {java_text(fork_inputs)}"
            )
        forks = []
        for raw in tasks:
            forked = _parse_task(raw)
            merged = {**forked.input_parameters, **(fork_inputs.get(forked.task_reference_name) or {})}
            forks.append((forked, resolve_parameters(decision, merged)))
        return _with_definitions(decision, forks)

    def _same_task_forks(
        self, decision: Decision, workflow_task: WorkflowTask, inputs: dict[str, Any]
    ) -> list[tuple[WorkflowTask, dict[str, Any]]]:
        task_type = inputs.get("forkTaskType") or TaskType.SIMPLE
        name = inputs.get("forkTaskName") or (task_type if task_type != TaskType.SIMPLE else None)
        name = name or workflow_task.task_reference_name
        prefix = f"_{workflow_task.task_reference_name}" if self._earlier_dynamic_forks(decision) else ""
        forks = []
        for index, element in enumerate(inputs["forkTaskInputs"]):
            forked = WorkflowTask(name=name, task_reference_name=f"{prefix}_{name}_{index}", type=task_type)
            if workflow_task.optional:
                forked = forked.model_copy(update={"optional": True})
            values = dict(element) if isinstance(element, dict) else {"input": element}
            forks.append((forked, {**values, "__index": index}))
        return _with_definitions(decision, forks)

    def _earlier_dynamic_forks(self, decision: Decision) -> bool:
        return any(
            t.workflow_task is not None and t.workflow_task.type == TaskType.FORK_JOIN_DYNAMIC
            for t in decision.all_tasks("name the tasks of a second dynamic fork")
        )


class _BadFork(Exception):
    pass


def _parse_task(raw: Any) -> WorkflowTask:
    if not isinstance(raw, dict):
        raise _BadFork(f"Dynamic fork task is not a task definition: {raw}")
    try:
        forked = WorkflowTask.model_validate(raw)
    except ValueError as error:
        raise _BadFork(f"Dynamic fork task is not a valid task definition: {error}") from error
    if not forked.task_reference_name:
        raise _BadFork(f"Dynamic fork task {forked.name} has no taskReferenceName")
    return forked


def _with_definitions(
    decision: Decision, forks: list[tuple[WorkflowTask, dict[str, Any]]]
) -> list[tuple[WorkflowTask, dict[str, Any]]]:
    """Forked tasks use the TaskDef of their name: the snapshot's if the definition has one, else the
    registered one (§4.6); none if neither exists (no retries, no timeouts)."""
    snapshot: dict[str, TaskDef] = {}
    for task in decision.definition.all_tasks():
        if task.task_definition is not None:
            snapshot.setdefault(task.name, task.task_definition)
    unknown = {f.name for f, _ in forks if f.task_definition is None and f.name not in snapshot}
    known = {**decision.registered_task_defs(unknown), **snapshot}
    return [
        (
            forked
            if forked.task_definition is not None or forked.name not in known
            else forked.model_copy(update={"task_definition": known[forked.name]}),
            inputs,
        )
        for forked, inputs in forks
    ]
