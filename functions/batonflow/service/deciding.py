"""Deciding a workflow where its change lands (the complete function, the API's task updates) instead of
waking the decider through its queue.

The wake-up would cost every task an SQS send, receive and delete and a decider invocation, and every step
a queue hop; Conductor, too, decides on a task update. Deciding outside the decider's FIFO message group
is safe because every decide is: its commit is conditional on the header's version, and a decide that
loses a race writes nothing that counts (see ``batonflow.service.executor``). What cannot be done here goes
to the decider queue:

* a large workflow (more than ``LARGE_WORKFLOW_TASKS`` attempts: a wide fork) is not decided here at all:
  not loaded when a result's attempt is past that number, else handed on once its load finds it large,
  before anything is written. Its results land many at a time, and decides of one workflow running at
  once keep losing races to each other (a whole-workflow decide of thousands of attempts, which a lost
  race asks for, below, kept losing to the quick partial ones until it gave up). The decider decides
  each workflow alone (its queue is FIFO by workflow) and merges the results of a batch into one decide;
* a decide that lost a race (another decide of the workflow committed first) becomes a wake-up to look
  at the whole workflow: before its header commit failed, the decide may have stamped the attempts it
  counted toward a JOIN (``batonflow.engine.join_counts``), and a decide of those attempts alone would
  then count nothing, leaving the JOIN waiting for good;
* a plan too large for the caller (``max_new_tasks``: the API answers within API Gateway's 29 s) is not
  committed (nothing was written), and its message goes to the decider as it came: the decider, with
  minutes, writes it;
* a decide that failed otherwise, perhaps after its commit and before its dispatches were sent, becomes a
  ``RECOVER`` wake-up, which repeats the commit's outbox; so does every decide of the call if the batched
  send of their dispatches fails. A workflow that cannot be decided thus fails on the decider queue, in
  its own message group, and never keeps other workflows' results from being acknowledged.

A crash before the wake-ups are sent leaves the change applied and the caller unanswered: SQS redelivers
the results, a REST worker sends its update again; applied again as a duplicate, a result still asks for
a decide, which repeats the outbox as for a redelivered message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from botocore.exceptions import ClientError

from batonflow.model.wire import DeciderMessage, DeciderReason
from batonflow.queues.sqs import SendError
from batonflow.service.executor import PlanTooLarge, WorkflowTooLarge, run_decide
from batonflow.service.runtime import Runtime
from batonflow.store.errors import ConflictError

logger = logging.getLogger(__name__)


def decide_here(
    runtime: Runtime,
    messages: dict[str, DeciderMessage],
    redelivered: set[str],
    *,
    max_new_tasks: int | None = None,
    log_keys: Callable[[str], AbstractContextManager[object]] = lambda _: nullcontext(),
) -> None:
    """Decide each workflow of ``messages`` once, here; wake the decider for those that could not be.

    ``redelivered``: workflows whose changes came from a redelivered message or a duplicate result, decided
    as the decider decides a redelivered message (outbox repeated, whole workflow loaded).
    ``max_new_tasks``: the most attempts a plan committed here may create. ``log_keys``: what puts a
    workflow's id on the log lines of its decide (the handler's correlation keys).
    """
    to_decider: dict[str, DeciderMessage] = {}
    decided: list[str] = []
    try:
        with runtime.queues.held():
            for workflow_id, message in messages.items():
                with log_keys(workflow_id):
                    handed_on = _decide(runtime, message, workflow_id in redelivered, max_new_tasks)
                if handed_on is None:
                    decided.append(workflow_id)
                else:
                    to_decider[workflow_id] = handed_on
    except (SendError, ClientError):
        logger.exception("sending the decided dispatches failed; the decider repeats them")
        for workflow_id in decided:
            to_decider[workflow_id] = _recover(workflow_id)
    if to_decider:
        runtime.queues.wake(to_decider)


def _decide(
    runtime: Runtime, message: DeciderMessage, redelivered: bool, max_new_tasks: int | None
) -> DeciderMessage | None:
    """Decide one workflow; None when done, else the message that hands it to the decider."""
    workflow_id = message.workflow_id
    if message.large:
        return _recover(workflow_id) if redelivered else message
    try:
        run_decide(
            runtime,
            workflow_id,
            task_ids=message.task_ids,
            large=message.large,
            redelivered=redelivered,
            attempts=1,
            max_new_tasks=max_new_tasks,
            whole_only=True,
        )
    except ConflictError as reason:
        logger.info("the decider decides all of %s: %s", workflow_id, reason)
        return DeciderMessage(workflowId=workflow_id, reason=message.reason)
    except (PlanTooLarge, WorkflowTooLarge) as reason:
        logger.info("the decider decides %s: %s", workflow_id, reason)
        return message
    except Exception:
        logger.exception("deciding failed; the decider recovers it", extra={"workflowId": workflow_id})
        return _recover(workflow_id)
    return None


def _recover(workflow_id: str) -> DeciderMessage:
    return DeciderMessage(workflowId=workflow_id, reason=DeciderReason.RECOVER)
