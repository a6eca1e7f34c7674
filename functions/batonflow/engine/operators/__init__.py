"""Registry of task types. The only place that maps a type name to its behaviour."""

from __future__ import annotations

from batonflow.engine.operators.base import Operator
from batonflow.engine.operators.do_while import DoWhileOperator
from batonflow.engine.operators.dynamic import DynamicOperator
from batonflow.engine.operators.event import EventOperator
from batonflow.engine.operators.fork import DynamicForkOperator, ForkJoinOperator
from batonflow.engine.operators.http import HttpOperator
from batonflow.engine.operators.human import HumanOperator
from batonflow.engine.operators.inline import InlineOperator, LambdaOperator
from batonflow.engine.operators.join import ExclusiveJoinOperator, JoinOperator
from batonflow.engine.operators.jq import JsonJqOperator
from batonflow.engine.operators.noop import NoopOperator
from batonflow.engine.operators.set_variable import SetVariableOperator
from batonflow.engine.operators.sub_workflow import StartWorkflowOperator, SubWorkflowOperator
from batonflow.engine.operators.switch import DecisionOperator, SwitchOperator
from batonflow.engine.operators.terminate import TerminateOperator
from batonflow.engine.operators.wait import WaitOperator
from batonflow.engine.operators.worker import UserDefinedOperator, WorkerOperator

_OPERATORS: tuple[Operator, ...] = (
    WorkerOperator(),
    SwitchOperator(),
    DecisionOperator(),
    ForkJoinOperator(),
    DynamicForkOperator(),
    JoinOperator(),
    ExclusiveJoinOperator(),
    DoWhileOperator(),
    SubWorkflowOperator(),
    StartWorkflowOperator(),
    InlineOperator(),
    LambdaOperator(),
    JsonJqOperator(),
    SetVariableOperator(),
    TerminateOperator(),
    NoopOperator(),
    DynamicOperator(),
    HttpOperator(),
    EventOperator(),
    WaitOperator(),
    HumanOperator(),
)
_BY_TYPE: dict[str, Operator] = {t: op for op in _OPERATORS for t in op.task_types}
_USER_DEFINED = UserDefinedOperator()


def operator_for(task_type: str) -> Operator:
    """The operator of a WorkflowTask ``type``; unknown strings are user-defined worker tasks."""
    return _BY_TYPE.get(task_type, _USER_DEFINED)


__all__ = ["Operator", "operator_for"]
