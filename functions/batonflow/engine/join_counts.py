"""JOIN counters: constant decider work per finished branch of a large fork (REFERENCE §4.5, §4.6).

A JOIN is complete when every ``joinOn`` task has finished. Re-reading all of them on every branch event
costs O(N) per event and O(N²) per fork. Large workflows instead keep, on the header, how many ``joinOn``
tasks of each open JOIN have not completed yet; a partial decide that sees one complete decrements that
count and only loads the JOIN's tasks (once) when it reaches zero, to compute the JOIN's output.

Counting is exactly-once: the plan names every attempt it counts (``Plan.counted``) and the executor
stamps those attempts with a conditional write before the header commit, so a duplicate message finds the
attempt stamped and counts nothing. A crash between the stamp and the commit only loses a count (never
doubles one): the redelivered message is decided over the whole workflow, and a full decide recounts
every counter from the task statuses.

Only plain shapes are counted (every ``joinOn`` task a direct member of a static fork's branch, or the
leaf tasks of one dynamic fork, outside loops); anything else — a failure, a loop, an EXCLUSIVE_JOIN —
makes the partial decide ask for the whole workflow and take the exact path.
"""

from __future__ import annotations

from batonflow.engine.context import Decision
from batonflow.engine.definition_index import DYNAMIC_FORK_BRANCH
from batonflow.engine.document import base_reference
from batonflow.engine.state import LARGE_WORKFLOW_TASKS, JoinCount, NeedFull
from batonflow.model import Task


def arrive(decision: Decision, task: Task) -> None:
    """A finished attempt hands over to what follows it: count it toward the JOINs that await it."""
    if not decision.partial:
        return  # a full decide evaluates JOINs directly and recounts at the end
    if task.iteration > 0:
        raise NeedFull("a loop iteration finished")
    for join_id in _awaiting(decision, task):
        if not task.status.is_successful:
            raise NeedFull(f"{task.reference_task_name} did not succeed")
        count = decision.count_for_join(join_id, task)
        if count.remaining <= 0:
            decision.require((count.reference,))  # the JOIN completes in this decide


def _awaiting(decision: Decision, task: Task) -> list[str]:
    """Ids of the open, counted JOINs that ``task`` is awaited by."""
    reference = task.reference_task_name
    slot = decision.index.slot(reference)
    if slot is not None and slot.container is DYNAMIC_FORK_BRANCH:
        first = decision.tasks_for(reference)[0]
        owners = [join_id for join_id, count in decision.joins.items() if count.holds(first.seq)]
        if not owners:
            raise NeedFull(f"no counted JOIN awaits the forked task {reference}")
        return owners
    found = []
    for join in decision.index.awaited_by(base_reference(reference)):
        join_id = decision.new_task_id(join.task_reference_name, 0)
        if join_id in decision.joins:
            found.append(join_id)
            continue
        join_task = decision.latest(join.task_reference_name)
        if join_task is not None and not join_task.status.is_terminal:
            raise NeedFull(f"{join.task_reference_name} has no counter")
    return found


def update(decision: Decision) -> None:
    """Bring the counters up to date at the end of a decide."""
    if decision.partial:
        for join_id in list(decision.joins):
            if decision.has_task(join_id) and decision.task(join_id).status.is_terminal:
                del decision.joins[join_id]
        _count_new_joins(decision)
    elif decision.last_seq < LARGE_WORKFLOW_TASKS:
        if decision.joins:
            decision.set_joins({}, ())
    else:
        _recount(decision)


def _count_new_joins(decision: Decision) -> None:
    """JOINs this partial decide created (a fork inside a branch, a fork after a JOIN) start counting."""
    for task in decision.new_tasks():
        if task.task_id in decision.joins or task.status.is_terminal:
            continue
        counted = decision.operator_of(task).count_joined(decision, task)
        if counted is not None:
            count, done = counted
            decision.joins[task.task_id] = count
            decision.set_joins(decision.joins, done)


def _recount(decision: Decision) -> None:
    joins: dict[str, JoinCount] = {}
    done: list[str] = []
    for task in decision.latest_attempts():
        if task.status.is_terminal:
            continue
        counted = decision.operator_of(task).count_joined(decision, task)
        if counted is not None:
            joins[task.task_id], completed = counted
            done.extend(completed)
    decision.set_joins(joins, done)
