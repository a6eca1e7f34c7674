"""SWITCH and its legacy form DECISION (REFERENCE §4.2, §4.3).

The case value is the Java string of the evaluation result (``1`` -> ``"1"``, missing -> ``"null"``). The
chosen case's first task is scheduled with the SWITCH, which completes at once; the branch then continues the
flow, and when it runs out the flow goes on after the SWITCH. SWITCH: a case key present with an empty list
selects nothing; DECISION falls back to ``defaultCase`` then.
"""

from __future__ import annotations

from typing import Any

from batonflow.engine import outcome
from batonflow.engine.context import Decision, reference_for
from batonflow.engine.document import base_reference
from batonflow.engine.flow import Next, next_in_flow
from batonflow.engine.inputs import resolve_task_input
from batonflow.engine.operators.base import Operator, new_task
from batonflow.engine.scripting import ScriptError, case_value, evaluate
from batonflow.model import Task, TaskStatus, TaskType, WorkflowTask

_JAVASCRIPT = ("javascript", "graaljs")
VALUE_PARAM = "value-param"


class _Unknown(Exception):
    """An evaluator type Conductor does not know: the workflow fails (not just the task)."""


class SwitchOperator(Operator):
    task_types = (TaskType.SWITCH,)
    retriable = False
    empty_case_falls_back = False

    def schedule(self, decision: Decision, workflow_task: WorkflowTask, iteration: int) -> list[Task]:
        task_id = decision.new_task_id(reference_for(workflow_task, iteration), 0)
        inputs = resolve_task_input(decision, workflow_task, None, task_id)
        try:
            case = self.evaluate_case(workflow_task, inputs)
        except _Unknown as error:
            outcome.fail_workflow(decision, str(error))
            return []
        except ScriptError as error:
            failed = self._task(
                decision, workflow_task, iteration, inputs, None, TaskStatus.FAILED, str(error)
            )
            return [failed]
        branch = self.branch(workflow_task, case)
        task = self._task(
            decision, workflow_task, iteration, inputs, case, TaskStatus.COMPLETED, None, bool(branch)
        )
        if branch:
            decision.schedule(branch[0], iteration)
        return [task]

    def evaluate_case(self, workflow_task: WorkflowTask, inputs: dict[str, Any]) -> str:
        evaluator = workflow_task.evaluator_type or VALUE_PARAM
        expression = workflow_task.expression or ""
        if evaluator == VALUE_PARAM:
            return case_value(inputs.get(expression))
        if evaluator in _JAVASCRIPT:
            return case_value(evaluate(expression, inputs))
        raise _Unknown(f"No evaluator registered for type: {evaluator}")

    def branch(self, workflow_task: WorkflowTask, case: str) -> list[WorkflowTask]:
        if case in workflow_task.decision_cases:
            chosen = workflow_task.decision_cases[case]
            if chosen or not self.empty_case_falls_back:
                return list(chosen)
        return list(workflow_task.default_case)

    def task_input(self, inputs: dict[str, Any], case: str | None) -> dict[str, Any]:
        return {**inputs, "case": case}

    def task_output(self, case: str) -> dict[str, Any]:
        return {"evaluationResult": [case], "selectedCase": case}

    def _task(
        self,
        decision: Decision,
        workflow_task: WorkflowTask,
        iteration: int,
        inputs: dict[str, Any],
        case: str | None,
        status: TaskStatus,
        reason: str | None,
        has_children: bool = False,
    ) -> Task:
        input_data = self.task_input(inputs, case)
        if has_children:
            input_data["hasChildren"] = "true"
        task = new_task(
            decision,
            workflow_task,
            task_type=workflow_task.type,
            task_def_name=workflow_task.type,
            status=status,
            input_data=input_data,
            iteration=iteration,
            output_data=self.task_output(case) if case is not None else {},
            reason_for_incompletion=reason,
        )
        decision.add_task(task)
        return task

    def successors(self, decision: Decision, task: Task) -> Next:
        """A SWITCH that scheduled a branch has no successor of its own: the branch carries the flow."""
        if task.input_data.get("hasChildren") == "true":
            return []
        return next_in_flow(decision, base_reference(task.reference_task_name), task.iteration)

    def after_branch(self, decision: Decision, container: WorkflowTask, iteration: int) -> Next:
        return next_in_flow(decision, container.task_reference_name, iteration)


class DecisionOperator(SwitchOperator):
    """Legacy DECISION: ``caseValueParam`` or a JavaScript ``caseExpression``; input holds only ``case``."""

    task_types = (TaskType.DECISION,)
    empty_case_falls_back = True

    def evaluate_case(self, workflow_task: WorkflowTask, inputs: dict[str, Any]) -> str:
        if workflow_task.case_value_param:
            return case_value(inputs.get(workflow_task.case_value_param))
        expression = workflow_task.case_expression or ""
        try:
            return case_value(evaluate(expression, inputs))
        except ScriptError as error:
            raise _Unknown(f"Error while evaluating script: {expression}") from error

    def task_input(self, inputs: dict[str, Any], case: str | None) -> dict[str, Any]:
        return {"case": case}

    def task_output(self, case: str) -> dict[str, Any]:
        return {"caseOutput": [case]}
