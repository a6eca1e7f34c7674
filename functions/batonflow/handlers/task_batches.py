"""What the queue functions that finish tasks share: each record on its own, then one decide per workflow.

Results (``CompleteFunction``) and system tasks (``SystemTaskFunction``) both change task attempts one
message at a time (a bad message fails alone: ReportBatchItemFailures), then see that each workflow whose
attempts changed is decided once, over those attempts.

The complete function decides them itself (:func:`process_then_decide`) rather than through a wake-up on the
decider queue: that hop would add an SQS send, receive and delete and a decider invocation to every task,
and its latency to every step (Conductor, too, decides on a task update). The system-task function only
wakes the decider (:func:`process_then_wake`): it calls users' HTTP endpoints, so it keeps a narrow role
that cannot dispatch tasks or write workflows, and its steps take as long as those calls anyway.

Deciding outside the decider's FIFO message group is safe because every decide is: its commit is
conditional on the header's version, and a decide that loses a race writes nothing that counts (see
``batonflow.service.executor``). What cannot be done here goes to the decider queue:

* a decide that lost a race (another decide of the workflow committed first) becomes the wake-up that
  would otherwise have been sent: the decider looks again;
* a decide that failed otherwise, perhaps after its commit and before its dispatches were sent, becomes a
  ``RECOVER`` wake-up, which repeats the commit's outbox; so does every decide of the invocation if the
  batched send of their dispatches fails. A workflow that cannot be decided thus fails on the decider
  queue, in its own message group, and never keeps the results of other workflows from being
  acknowledged.

A crash before the wake-ups are sent returns the messages: the results apply again as duplicates (which
still ask for a decide) and their workflows, redelivered, are decided with their outboxes repeated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from batonflow.handlers.observability import logger
from batonflow.handlers.redelivery import redelivered as redelivered_record
from batonflow.model import Task
from batonflow.model.wire import DeciderMessage, DeciderReason
from batonflow.queues.sqs import SendError, wake_messages
from batonflow.service.executor import run_decide
from batonflow.service.runtime import Runtime
from batonflow.store.errors import ConflictError


def process_then_decide(
    event: dict[str, Any], context: Any, runtime: Runtime, handle: Callable[[SQSRecord], Task | None]
) -> dict[str, Any]:
    """Run ``handle`` on every record; then decide each workflow of the attempts it returns, here."""
    response, changed, redelivered = _process(event, context, handle)
    if changed:
        decide_here(runtime, wake_messages(changed, DeciderReason.TASK), redelivered)
    return response


def process_then_wake(
    event: dict[str, Any], context: Any, runtime: Runtime, handle: Callable[[SQSRecord], Task | None]
) -> dict[str, Any]:
    """Run ``handle`` on every record; then wake the decider for each attempt it returns."""
    response, changed, _ = _process(event, context, handle)
    if changed:
        runtime.queues.wake_for_tasks(changed, DeciderReason.TASK)
    return response


def _process(
    event: dict[str, Any], context: Any, handle: Callable[[SQSRecord], Task | None]
) -> tuple[dict[str, Any], list[tuple[str, str, int]], set[str]]:
    """The batch response; the changed attempts as (workflow id, task id, seq); the workflows that a
    redelivered message changed."""
    changed: list[tuple[str, str, int]] = []
    redelivered: set[str] = set()

    def record_handler(record: SQSRecord) -> None:
        task = handle(record)
        if task is not None and task.workflow_instance_id:
            changed.append((task.workflow_instance_id, task.task_id, task.seq))
            if redelivered_record(record):
                redelivered.add(task.workflow_instance_id)

    response = process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response, changed, redelivered


def decide_here(runtime: Runtime, messages: dict[str, DeciderMessage], redelivered: set[str]) -> None:
    """Decide each workflow of ``messages`` once, here; wake the decider for those that could not be.

    ``redelivered``: workflows whose changes came from a redelivered message, decided as the decider
    decides a redelivered message (outbox repeated, whole workflow loaded).
    """
    to_decider: dict[str, DeciderMessage] = {}
    decided: list[str] = []
    try:
        with runtime.queues.held():
            for workflow_id, message in messages.items():
                try:
                    with logger.append_context_keys(workflowId=workflow_id):
                        run_decide(
                            runtime,
                            workflow_id,
                            task_ids=message.task_ids,
                            large=message.large,
                            redelivered=workflow_id in redelivered,
                            attempts=1,
                        )
                    decided.append(workflow_id)
                except ConflictError:
                    to_decider[workflow_id] = message
                except Exception:
                    logger.exception(
                        "deciding failed; the decider recovers the workflow",
                        extra={"workflowId": workflow_id},
                    )
                    to_decider[workflow_id] = DeciderMessage(
                        workflowId=workflow_id, reason=DeciderReason.RECOVER
                    )
    except (SendError, ClientError):
        logger.exception("sending the decided dispatches failed; the decider repeats them")
        for workflow_id in decided:
            to_decider[workflow_id] = DeciderMessage(workflowId=workflow_id, reason=DeciderReason.RECOVER)
    if to_decider:
        runtime.queues.wake(to_decider)
