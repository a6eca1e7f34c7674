"""Running a system task (HTTP, EVENT) from its queue message, safely under at-least-once delivery.

The system-task function is a worker that lives in the stack: it takes the attempt, performs it and writes
the result through :func:`batonflow.service.tasks.apply_result`, the same conditional write as any
worker's result. One message, with SQS delivering it more than once and Lambda dying anywhere:

1. Read the attempt. Finished (or gone): nothing to run. A finished one still wakes the decider, because
   an earlier delivery may have died between writing its result and sending the wake-up.
2. SCHEDULED: lease it (SCHEDULED -> IN_PROGRESS, conditional on SCHEDULED), as a REST poll does. Of two
   concurrent deliveries only one wins, so the URL is called once; the lease also starts the
   response-timeout clock (its wake-up timer is sent first, so a crash leaves an extra wake-up, not a
   missing one), which times the attempt out and retries it if this function dies for good.
3. IN_PROGRESS: run it again only when this delivery is a redelivery (``ApproximateReceiveCount > 1``), the
   lease is this function's and the attempt has no output yet — the delivery holding it died before writing
   a result. The call may then happen twice (at least once, as in Conductor). Any other IN_PROGRESS attempt
   belongs to someone else (a concurrent duplicate still running, a REST worker that polled the type) or is
   an ``asyncComplete`` attempt waiting for its external update: left alone.
4. Write the outcome: COMPLETED/FAILED through ``apply_result`` (a late duplicate changes nothing);
   IN_PROGRESS (``asyncComplete``) as the attempt's output, leaving it IN_PROGRESS for an external update.

Cost per task: GetItem + UpdateItem (lease) + UpdateItem (result), one wake-up message (batched
per invocation), plus a timer message when the TaskDef sets a response timeout and, for EVENT, a GetItem of
the workflow header, GetQueueUrl and SendMessage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import urllib3

from batonflow.errors import NotFoundError
from batonflow.model import Task, TaskStatus, TaskType
from batonflow.model.wire import ResultMessage, TaskMessage
from batonflow.service.runtime import Runtime
from batonflow.service.tasks import apply_result, lease, response_deadline
from batonflow.system_tasks import event, http
from batonflow.system_tasks.outcome import SystemOutcome

logger = logging.getLogger(__name__)

_Perform = Callable[[Task, int], SystemOutcome]


class SystemTaskRunner:
    """Runs the attempts named by task messages. Cheap to build: the handler makes one per invocation
    around the container's HTTP pool, so its runtime can be swapped (the test harness does)."""

    def __init__(self, runtime: Runtime, *, pool: urllib3.PoolManager | None = None) -> None:
        self.runtime = runtime
        self.pool = pool or http.new_pool()
        self._perform: dict[str, _Perform] = {
            TaskType.HTTP.value: self._http,
            TaskType.EVENT.value: self._event,
        }

    def run(self, message: TaskMessage, *, worker_id: str, redelivered: bool, budget_ms: int) -> Task | None:
        """Run the attempt if it is still to be run; returns the attempt whose workflow to wake, if any."""
        perform = self._perform.get(message.task_type)
        if perform is None:
            logger.warning("no system task of type %s; message dropped", message.task_type)
            return None
        task = self.runtime.executions.get_task(message.workflow_instance_id, message.task_id)
        if task is None:
            logger.warning("task %s not found; message dropped", message.task_id)
            return None
        if task.status.is_terminal:
            return task
        taken = self._take(task, worker_id=worker_id, redelivered=redelivered)
        if taken is None:
            return None
        return self._write(taken, perform(taken, budget_ms), worker_id)

    def _take(self, task: Task, *, worker_id: str, redelivered: bool) -> Task | None:
        if task.status == TaskStatus.IN_PROGRESS:
            abandoned = redelivered and task.worker_id == worker_id and not task.output_data
            return task if abandoned else None
        now = self.runtime.clock()
        deadline = response_deadline(task, now)
        if deadline is not None:
            self.runtime.queues.wake_at(task.workflow_instance_id, deadline, now=now, task_id=task.task_id)
        return lease(self.runtime, task, worker_id, now, deadline)

    def _write(self, task: Task, outcome: SystemOutcome, worker_id: str) -> Task | None:
        if outcome.status == TaskStatus.IN_PROGRESS:
            waiting = task.model_copy(
                update={"output_data": outcome.output, "update_time": self.runtime.clock()}
            )
            return waiting if self.runtime.executions.update_open_task(waiting) else task
        result = ResultMessage(
            workflowInstanceId=task.workflow_instance_id or "",
            taskId=task.task_id,
            status=outcome.status.value,
            outputData=outcome.output,
            reasonForIncompletion=outcome.reason,
            workerId=worker_id,
        )
        try:
            applied = apply_result(self.runtime, result)
        except NotFoundError:
            logger.warning("task %s vanished before its result was written", task.task_id)
            return None
        return applied.task if applied.wakes_decider else None

    def _http(self, task: Task, budget_ms: int) -> SystemOutcome:
        return http.run(self.pool, task.input_data, budget_ms=budget_ms)

    def _event(self, task: Task, budget_ms: int) -> SystemOutcome:
        loaded = self.runtime.executions.load(task.workflow_instance_id or "", include_tasks=False)
        if loaded is None:
            raise NotFoundError(f"Workflow not found: {task.workflow_instance_id}")
        return event.publish(self.runtime.sqs, task, loaded.header.workflow)
