"""Registry of task types. The only place that maps a type name to its behaviour."""

from __future__ import annotations

from batonflow.engine.operators.base import Operator
from batonflow.engine.operators.worker import UserDefinedOperator, WorkerOperator

_OPERATORS: tuple[Operator, ...] = (WorkerOperator(),)
_BY_TYPE: dict[str, Operator] = {t: op for op in _OPERATORS for t in op.task_types}
_USER_DEFINED = UserDefinedOperator()


def operator_for(task_type: str) -> Operator:
    """The operator of a WorkflowTask ``type``; unknown strings are user-defined worker tasks."""
    return _BY_TYPE.get(task_type, _USER_DEFINED)


__all__ = ["Operator", "operator_for"]
