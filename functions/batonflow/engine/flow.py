"""What follows a finished task (REFERENCE §3.2 step 5), as (WorkflowTask, loop iteration) pairs."""

from __future__ import annotations

from batonflow.engine.context import Decision
from batonflow.model import WorkflowTask

Next = list[tuple[WorkflowTask, int]]


def next_in_flow(decision: Decision, reference_name: str, iteration: int) -> Next:
    """The next task of ``reference_name``'s list; at the end of a nested list, the container decides."""
    following = decision.index.next_in_list(reference_name)
    if following is not None:
        return [(following, iteration)]
    slot = decision.index.slot(reference_name)
    if slot is None or slot.container is None:
        return []
    return decision.operators(slot.container.type).after_branch(decision, slot.container, iteration)
