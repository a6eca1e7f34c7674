"""Workflow executions in DynamoDB: load, create, commit a plan, and the task writes of workers.

Every state change is a conditional write:

* new task attempt — ``attribute_not_exists(SK)``; ids are deterministic, so an existing item means this
  attempt was already written (by an earlier try of the same decide) and is not an error;
* decider change of a task — ``status = <status the decider saw>``;
* worker result — ``status IN (SCHEDULED, IN_PROGRESS)`` (a late or duplicate result changes nothing);
* header commit — ``version = <version loaded>``; it is the commit point of a decide. Task items are written
  before it, and each is a valid state on its own, so a crash or a lost race in between is repaired by the
  next decide over the reloaded state.

Rejected: ``TransactWriteItems`` for a decide. It doubles the write cost on AWS (2 WRU per item) and, on
moto, deep-copies the table per call and fails under concurrent threads (DESIGN §5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from batonflow.engine.plan import Plan
from batonflow.model import Task, TaskStatus, Workflow
from batonflow.store.attrs import Item, doc, get_doc, get_s, n, s
from batonflow.store.errors import ConflictError
from batonflow.store.layout import (
    HEADER_SK,
    TASK_SK_PREFIX,
    WAKE_SHARDS,
    Header,
    header_from_item,
    header_item,
    task_from_item,
    task_item,
    task_mutable_values,
    task_sk,
    wake_shard,
    workflow_pk,
)

_OPEN_STATUSES = (TaskStatus.SCHEDULED.value, TaskStatus.IN_PROGRESS.value)


@dataclass(frozen=True)
class LoadedWorkflow:
    header: Header
    tasks: list[Task]

    @property
    def workflow(self) -> Workflow:
        """The execution with its tasks, as the API returns it."""
        return self.header.workflow.model_copy(update={"tasks": self.tasks})


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class ExecutionStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    # -- reads ----------------------------------------------------------------------------------------
    def load(self, workflow_id: str, *, include_tasks: bool = True) -> LoadedWorkflow | None:
        """One (paged) Query for the whole execution; None if there is no such workflow."""
        if not include_tasks:
            response = self._client.get_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(workflow_id)), "SK": s(HEADER_SK)},
                ConsistentRead=True,
            )
            item = response.get("Item")
            return LoadedWorkflow(header_from_item(item), []) if item else None
        header: Header | None = None
        tasks: list[Task] = []
        for item in self._query_partition(workflow_pk(workflow_id)):
            sort_key = get_s(item, "SK") or ""
            if sort_key == HEADER_SK:
                header = header_from_item(item)
            elif sort_key.startswith(TASK_SK_PREFIX):
                tasks.append(task_from_item(item))
        if header is None:
            return None
        tasks.sort(key=lambda t: t.seq)
        return LoadedWorkflow(header, tasks)

    def _query_partition(self, pk: str) -> Iterable[Item]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": s(pk)},
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**kwargs)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def get_task(self, workflow_id: str, task_id: str) -> Task | None:
        response = self._client.get_item(
            TableName=self._table,
            Key={"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return task_from_item(item) if item else None

    def find_task_workflow(self, task_id: str) -> str | None:
        """The workflow id of a task id, through the ``tasks-by-id`` index."""
        response = self._client.query(
            TableName=self._table,
            IndexName="tasks-by-id",
            KeyConditionExpression="taskId = :t",
            ExpressionAttributeValues={":t": s(task_id)},
            Limit=1,
        )
        items = response.get("Items", [])
        return (get_s(items[0], "PK") or "").removeprefix("WF#") if items else None

    def overdue_workflows(self, cutoff: int) -> list[str]:
        """Ids of workflows with an item whose deadline (``wakeAt``) is at or before ``cutoff``."""
        found: list[str] = []
        for shard in range(WAKE_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": "wake-index",
                "KeyConditionExpression": "wakeShard = :shard AND wakeAt <= :cutoff",
                "ExpressionAttributeValues": {":shard": s(f"W{shard}"), ":cutoff": n(cutoff)},
            }
            while True:
                response = self._client.query(**kwargs)
                found.extend((get_s(i, "PK") or "").removeprefix("WF#") for i in response.get("Items", []))
                if not response.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return list(dict.fromkeys(w for w in found if w))

    # -- writes ---------------------------------------------------------------------------------------
    def create(self, workflow: Workflow, *, wake_at: int | None) -> None:
        """Write a new header; ConflictError if the id exists."""
        self._put_new(header_item(workflow, wake_at=wake_at))

    def _put_new(self, item: Item) -> bool:
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(SK)"
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConflictError(get_s(item, "SK")) from error
            raise
        return True

    def commit(self, loaded: LoadedWorkflow, plan: Plan, now: int, outbox: list[dict[str, Any]]) -> None:
        """Apply a plan: new tasks, task changes, then the header (the commit point).

        Raises ConflictError when a task or the header changed since ``loaded`` was read; the caller
        reloads and decides again.
        """
        for task in plan.new_tasks:
            try:
                self._put_new(task_item(task))
            except ConflictError:
                continue  # this attempt was written by an earlier try of the same decide
        for change in plan.task_changes:
            self._update_task(change.task, expected=(change.expected_status.value,))
        self._commit_header(loaded.header, plan, now, outbox)

    def _update_task(self, task: Task, *, expected: tuple[str, ...], wake_at: int | None = None) -> None:
        """Conditional write of a task's changing attributes; ``wake_at`` marks a deadline for the sweeper."""
        values = task_mutable_values(task)
        if wake_at is not None:
            values["wakeAt"] = n(wake_at)
            values["wakeShard"] = s(wake_shard(task.workflow_instance_id))
        names = {f"#{k}": k for k in values}
        expression_values = {f":{k}": v for k, v in values.items()}
        expected_names = [f":expected{i}" for i in range(len(expected))]
        for placeholder, status in zip(expected_names, expected, strict=True):
            expression_values[placeholder] = s(status)
        removals = [k for k in ("reason", "workerId", "wakeAt", "wakeShard") if k not in values]
        update = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        if removals:
            update += " REMOVE " + ", ".join(f"#{k}" for k in removals)
            names.update({f"#{k}": k for k in removals})
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(task.workflow_instance_id)), "SK": s(task_sk(task.task_id))},
                UpdateExpression=update,
                ConditionExpression=f"#status IN ({', '.join(expected_names)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=expression_values,
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConflictError(task.task_id) from error
            raise

    def _commit_header(self, header: Header, plan: Plan, now: int, outbox: list[dict[str, Any]]) -> None:
        sets = ["#version = :next", "#updateTime = :now", "#outbox = :outbox"]
        values: Item = {
            ":expected": n(header.version),
            ":next": n(header.version + 1),
            ":now": n(now),
            ":outbox": doc(outbox),
        }
        names = {"#version": "version", "#updateTime": "updateTime", "#outbox": "outbox"}
        removals: list[str] = []
        change = plan.workflow
        if change is not None:
            fields: dict[str, Any] = {
                "status": s(change.status.value) if change.status else None,
                "output": doc(change.output) if change.output is not None else None,
                "variables": doc(change.variables) if change.variables is not None else None,
                "reason": s(change.reason_for_incompletion) if change.reason_for_incompletion else None,
                "endTime": n(change.end_time) if change.end_time is not None else None,
                "failedRefs": doc(list(change.failed_reference_task_names))
                if change.failed_reference_task_names is not None
                else None,
                "failedNames": doc(list(change.failed_task_names))
                if change.failed_task_names is not None
                else None,
            }
            for name, value in fields.items():
                if value is not None:
                    sets.append(f"#{name} = :{name}")
                    names[f"#{name}"] = name
                    values[f":{name}"] = value
        ended = change is not None and change.status is not None and change.status.is_terminal
        if plan.wake_at is not None and not ended:
            sets += ["#wakeAt = :wakeAt", "#wakeShard = :wakeShard"]
            values[":wakeAt"] = n(plan.wake_at)
            values[":wakeShard"] = s(wake_shard(header.workflow.workflow_id))
        else:
            removals += ["#wakeAt", "#wakeShard"]
        names.update({"#wakeAt": "wakeAt", "#wakeShard": "wakeShard"})
        update = "SET " + ", ".join(sets)
        if removals:
            update += " REMOVE " + ", ".join(removals)
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(header.workflow.workflow_id)), "SK": s(HEADER_SK)},
                UpdateExpression=update,
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConflictError(header.workflow.workflow_id) from error
            raise

    def update_open_task(self, task: Task, *, wake_at: int | None = None) -> bool:
        """Write a worker's change to an unfinished attempt. False if the attempt had already finished."""
        try:
            self._update_task(task, expected=_OPEN_STATUSES, wake_at=wake_at)
        except ConflictError:
            return False
        return True

    def lease_task(self, task: Task, *, wake_at: int | None) -> bool:
        """SCHEDULED -> IN_PROGRESS for a polled task; False if someone else got it or it finished."""
        try:
            self._update_task(task, expected=(TaskStatus.SCHEDULED.value,), wake_at=wake_at)
        except ConflictError:
            return False
        return True

    # -- task logs ------------------------------------------------------------------------------------
    def add_logs(self, task_id: str, entries: list[dict[str, Any]], *, now: int) -> None:
        """Append task execution logs (their own partition, so loading a workflow never reads them)."""
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "PK": s(f"LOG#{task_id}"),
                        "SK": s(f"{int(entry.get('createdTime') or now):013d}#{now}#{index:04d}"),
                        "body": doc(entry),
                    }
                }
            }
            for index, entry in enumerate(entries)
        ]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self._table: requests[start : start + 25]}
            while pending:
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}

    def get_logs(self, task_id: str) -> list[dict[str, Any]]:
        return [get_doc(item, "body") for item in self._query_partition(f"LOG#{task_id}")]
