"""Workflow executions in DynamoDB: load, create, commit a plan, and the task writes of workers.

Every state change is a conditional write:

* new task attempt — ``attribute_not_exists(SK)``; ids are deterministic, so an existing item means this
  attempt was already written (by an earlier try of the same decide) and is not an error;
* decider change of a task — ``status = <status the decider saw>``;
* worker result — ``status IN (SCHEDULED, IN_PROGRESS)`` (a late or duplicate result changes nothing),
  returning the attempt instead of reading it first (``update_open_task_fields``);
* header commit — ``version = <version loaded>``; it is the commit point of a decide. Task items are written
  before it, and each is a valid state on its own, so a crash or a lost race in between is repaired by the
  next decide over the reloaded state;
* new workflow — ``attribute_not_exists(SK)`` on the header, written after the task items of its first
  decide, if any; the start's confirmation — ``version = 1``.

Large payloads (``store.payloads``): every write offloads the inputs, outputs and variables over the
threshold to S3 and every read resolves them, so callers see plain maps. The one exception is the attempt
``update_open_task_fields`` hands back: its output stays a reference (applying a result does not need it,
and resolving it would download what the worker just uploaded).

Rejected: ``TransactWriteItems`` for a decide. It doubles the write cost on AWS (2 WRU per item) and, on
moto, deep-copies the table per call and fails under concurrent threads (DESIGN §5).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from batonflow.clock import Clock, system_clock
from batonflow.engine.ids import task_id_for
from batonflow.engine.plan import NewRun, Plan
from batonflow.model import Task, TaskStatus, Workflow, WorkflowDef, WorkflowStatus
from batonflow.store.attrs import (
    AttributeValue,
    Item,
    boolean,
    doc,
    get_bool,
    get_doc,
    get_n,
    get_s,
    item_size,
    n,
    s,
)
from batonflow.store.batches import batch_write
from batonflow.store.errors import ConflictError, StoreError, is_throttling
from batonflow.store.layout import (
    EXPIRES_AT,
    HEADER_SK,
    NAME_SHARDS,
    ONE_WRITE_UNIT,
    PENDING,
    SNAPSHOT_SK,
    STATUS_SHARDS,
    SUPERSEDED,
    TASK_SK_PREFIX,
    WAKE_SHARDS,
    DefinitionSnapshot,
    Header,
    definition_from_snapshot,
    expires_at,
    header_from_item,
    header_item,
    header_static,
    is_expired,
    is_held,
    joins_doc,
    log_pk,
    mark_written,
    name_shard,
    pending_tasks,
    pending_value,
    snapshot_pk,
    status_shard,
    status_shard_of,
    superseded_doc,
    task_from_item,
    task_item,
    task_mutable_values,
    task_sk,
    wake_shard,
    workflow_id_in,
    workflow_pk,
)
from batonflow.store.payloads import MAX_PAYLOAD_BYTES, Payloads, is_reference

logger = logging.getLogger(__name__)

_OPEN_STATUSES = (TaskStatus.SCHEDULED.value, TaskStatus.IN_PROGRESS.value)
_JOINED = "joined"
"""Task attribute: the token of the decide that counted this attempt toward a JOIN (join_counts.py)."""
_OWNER = "owner"
"""Task attribute: the token of the commit that wrote (or, having won, claimed) the item."""
_HAS_LOGS = "hasLogs"
"""Task attribute: the attempt has execution logs (``LOG#<taskId>``), to delete with it."""
_WORKER_FIELDS = {
    "status": "status",
    "output_data": "output",
    "reason_for_incompletion": "reason",
    "worker_id": "workerId",
    "start_time": "startTime",
    "end_time": "endTime",
    "update_time": "updateTime",
    "poll_count": "pollCount",
    "callback_after_seconds": "callbackAfterSeconds",
}
"""Task field -> item attribute, for the fields a worker's result writes (``update_open_task_fields``)."""
_WAKE_ATTRIBUTES = frozenset({"wakeAt", "wakeShard"})
MAX_HELD = 8
"""The most attempts a header holds: past a few, a fork's attempts would not fit one write unit anyway."""
_BATCH_GET = 100
_REMEMBERED_DEFINITIONS = 256
"""Parsed definition snapshots a store keeps (the oldest goes first): far more than a process runs."""
_PROBE_PAGE = 16
"""Items in the first page of a load that may turn out partial: enough for a small workflow's header and
first tasks, little to waste on a large one."""


@dataclass(frozen=True)
class LoadedWorkflow:
    header: Header
    tasks: list[Task]
    complete: bool = True
    """False: only some tasks were loaded (a partial decide)."""
    stamps: dict[str, str] = field(default_factory=dict)
    """Task id -> token of the decide that counted it toward a JOIN, for the loaded tasks."""
    leftovers: tuple[str, ...] = ()
    """Ids of stored attempts a rerun discarded whose deletion was interrupted: the next commit deletes
    them."""

    @property
    def committed_tasks(self) -> list[Task]:
        """The attempts a header commit counted. A decide writes its new attempts before it commits the
        header, so attempts above ``lastSeq`` are in flight (or from a commit that lost): not part of the
        workflow yet, whatever else that decide has written so far."""
        return [task for task in self.tasks if task.seq <= self.header.last_seq]

    @property
    def workflow(self) -> Workflow:
        """The execution with its committed tasks, as the API returns it."""
        return self.header.workflow.model_copy(update={"tasks": self.committed_tasks})


def _read_task(item: Item, stamps: dict[str, str]) -> Task:
    task = task_from_item(item)
    stamp = get_s(item, _JOINED)
    if stamp is not None:
        stamps[task.task_id] = stamp
    return task


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class TaskWrite:
    """What a conditional write to a task attempt did."""

    written: bool
    task: Task | None
    """The attempt after the write when ``written``; else the attempt as it is (None: there is none)."""


class ExecutionStore:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        retention_s: int = 0,
        clock: Clock = system_clock,
        payloads: Payloads | None = None,
    ) -> None:
        """``retention_s``: how long a finished workflow is kept (0: forever); ``clock`` tells when an
        expired header, which DynamoDB may still return for a while, is to be treated as gone;
        ``payloads``: where large payloads go (None: nowhere, for tools that only read small workflows)."""
        self._client = client
        self._table = table
        self._retention_s = retention_s
        self._clock = clock
        self.payloads = payloads
        self._definitions: dict[str, WorkflowDef] = {}
        """Definition snapshots this store wrote or read, parsed, by id: all stored, none ever changed."""

    # -- large payloads (store.payloads) --------------------------------------------------------------
    def _offload(self, value: Any, owner: str, *, limit: int | None = None) -> Any:
        return value if self.payloads is None else self.payloads.offload(value, owner, limit=limit)

    def _resolve(self, value: Any) -> Any:
        return value if self.payloads is None or not is_reference(value) else self.payloads.resolve(value)

    def _stored_task(self, task: Task, *, with_input: bool = True) -> Task:
        """The attempt as written: input (unless only the changing attributes are written) and output
        offloaded when large."""
        owner = task.workflow_instance_id
        changes = {"output_data": self._offload(task.output_data, owner)}
        if with_input:
            changes["input_data"] = self._offload(task.input_data, owner)
        if all(changes[name] is getattr(task, name) for name in changes):
            return task
        return task.model_copy(update=changes)

    def _loaded_task(self, task: Task) -> Task:
        if not (is_reference(task.input_data) or is_reference(task.output_data)):
            return task
        return task.model_copy(
            update={
                "input_data": self._resolve(task.input_data),
                "output_data": self._resolve(task.output_data),
            }
        )

    def _loaded_header(self, item: Item) -> Header:
        header = header_from_item(item, self._definition)
        workflow = header.workflow
        fields = ("input", "output", "variables")
        if not any(is_reference(getattr(workflow, name)) for name in fields):
            return header
        resolved = workflow.model_copy(
            update={name: self._resolve(getattr(workflow, name)) for name in fields}
        )
        return dataclasses.replace(header, workflow=resolved)

    # -- definition snapshots (store.layout.DefinitionSnapshot) ---------------------------------------
    def _definition(self, ref: str) -> WorkflowDef:
        """The definition of a snapshot id: read (consistently, it may be new) once per process."""
        definition = self._definitions.get(ref)
        if definition is None:
            item = self._client.get_item(
                TableName=self._table,
                Key={"PK": s(snapshot_pk(ref)), "SK": s(SNAPSHOT_SK)},
                ConsistentRead=True,
            ).get("Item")
            if item is None:
                raise StoreError(f"definition snapshot {ref} is missing")
            definition = self._remember(ref, definition_from_snapshot(item))
        return definition

    def _remember(self, ref: str, definition: WorkflowDef) -> WorkflowDef:
        if len(self._definitions) >= _REMEMBERED_DEFINITIONS:
            del self._definitions[next(iter(self._definitions))]
        self._definitions[ref] = definition
        return definition

    def _stored_snapshot(self, definition: WorkflowDef | None) -> DefinitionSnapshot | None:
        """The snapshot of a definition a header is about to name, written first unless this store knows
        it is stored. Writing an existing one again rewrites the same bytes: no condition needed."""
        if definition is None:
            return None
        snapshot = DefinitionSnapshot.of(definition)
        if snapshot.ref not in self._definitions:
            self._client.put_item(TableName=self._table, Item=snapshot.item())
            self._remember(snapshot.ref, definition)  # what parsing the snapshot gives back
        return snapshot

    def _run_snapshot(self, header: Header, plan: Plan) -> DefinitionSnapshot | None:
        """The stored snapshot of the definition a plan's new run (restart, rerun) starts from."""
        if plan.new_run is None:
            return None
        return self._stored_snapshot(plan.new_run.definition or header.workflow.workflow_definition)

    def _stored_plan(self, header: Header, plan: Plan) -> Plan:
        """The plan with the header values it writes offloaded: output, variables, and a new run's input
        (which rewrites the header's ``static``, with the loaded input when the run keeps it)."""
        workflow_id = header.workflow.workflow_id
        change, run = plan.workflow, plan.new_run
        if change is not None:
            change = dataclasses.replace(
                change,
                output=self._offload(change.output, workflow_id),
                variables=self._offload(change.variables, workflow_id),
            )
        if run is not None:
            run_input = header.workflow.input if run.input is None else run.input
            run = dataclasses.replace(
                run, input=self._offload(run_input, workflow_id, limit=MAX_PAYLOAD_BYTES)
            )
        return dataclasses.replace(plan, workflow=change, new_run=run)

    # -- reads ----------------------------------------------------------------------------------------
    def load(
        self, workflow_id: str, *, include_tasks: bool = True, partial_from: int | None = None
    ) -> LoadedWorkflow | None:
        """One (paged) Query for the whole execution; None if there is no such workflow.

        With ``partial_from``, an execution with at least that many tasks comes back with its header only
        (``complete=False``) after one small first page: the header sorts first in its partition.
        """
        if not include_tasks:
            response = self._client.get_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(workflow_id)), "SK": s(HEADER_SK)},
                ConsistentRead=True,
            )
            item = response.get("Item")
            return LoadedWorkflow(self._loaded_header(item), []) if item and self._live(item) else None
        header: Header | None = None
        tasks: list[Task] = []
        stamps: dict[str, str] = {}
        first_page = None if partial_from is None else _PROBE_PAGE
        for item, more in self._query_partition(workflow_pk(workflow_id), first_page=first_page):
            sort_key = get_s(item, "SK") or ""
            if sort_key == HEADER_SK:
                if not self._live(item):
                    return None
                header = self._loaded_header(item)
                if more and partial_from is not None and header.last_seq >= partial_from:
                    return LoadedWorkflow(header, [], complete=False)
            elif sort_key.startswith(TASK_SK_PREFIX):
                tasks.append(self._loaded_task(_read_task(item, stamps)))
        if header is None:
            return None
        written = {task.task_id for task in tasks}
        tasks += [self._loaded_task(t) for t in header.pending if t.task_id not in written]
        kept = sorted((t for t in tasks if header.keeps(t)), key=lambda t: t.seq)
        leftovers = tuple(
            t.task_id for t in tasks if t.seq >= header.first_seq and not header.keeps(t) and not is_held(t)
        )
        return LoadedWorkflow(header, kept, stamps=stamps, leftovers=leftovers)

    def _live(self, item: Item) -> bool:
        """False for a header past its retention: TTL deletes it some time later, it is gone already."""
        return not is_expired(item, self._clock())

    def _query_partition(
        self, pk: str, *, first_page: int | None = None, keys_only: bool = False
    ) -> Iterable[tuple[Item, bool]]:
        """The partition's items (only their keys, TTL and log mark with ``keys_only``), each with whether
        more pages
        follow the one it came in."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": s(pk)},
            "ConsistentRead": True,
        }
        if keys_only:
            kwargs["ProjectionExpression"] = f"PK, SK, {EXPIRES_AT}, {_HAS_LOGS}"
        if first_page is not None:
            kwargs["Limit"] = first_page
        while True:
            response = self._client.query(**kwargs)
            last = response.get("LastEvaluatedKey")
            for item in response.get("Items", []):
                yield item, bool(last)
            if not last:
                return
            kwargs.pop("Limit", None)
            kwargs["ExclusiveStartKey"] = last

    def load_attempts(
        self, header: Header, references: Iterable[str], known: dict[str, Task]
    ) -> tuple[dict[str, Task], dict[str, str]]:
        """Every attempt of each reference (deterministic ids: attempt 0, then on while one was retried),
        reading only what ``known`` lacks; returns them with their JOIN stamps."""
        workflow_id, generation = header.workflow.workflow_id or "", header.generation
        found = dict(known)
        stamps: dict[str, str] = {}
        absent: set[str] = set()
        walking = {reference: 0 for reference in references}
        while walking:
            wanted: dict[str, str] = {}
            for reference, attempt in list(walking.items()):
                while True:
                    task_id = task_id_for(workflow_id, generation, reference, attempt)
                    task = found.get(task_id)
                    if task is None:
                        if task_id in absent:
                            del walking[reference]
                        else:
                            wanted[reference] = task_id
                            walking[reference] = attempt
                        break
                    if not task.retried:
                        del walking[reference]
                        break
                    attempt += 1
            if wanted:
                tasks, new_stamps = self.get_tasks(workflow_id, wanted.values(), header=header)
                found.update((t.task_id, t) for t in tasks)
                stamps.update(new_stamps)
                absent.update(set(wanted.values()) - found.keys())
        return found, stamps

    def get_tasks(
        self, workflow_id: str, task_ids: Iterable[str], *, header: Header | None = None
    ) -> tuple[list[Task], dict[str, str]]:
        """Task attempts by id (BatchGetItem, consistent), those without an item from the header's held
        attempts (``header``, or read when some are missing); missing ids are left out."""
        wanted = list(dict.fromkeys(task_ids))
        keys = [{"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))} for task_id in wanted]
        stamps: dict[str, str] = {}
        tasks = [self._loaded_task(_read_task(item, stamps)) for item in self._batch_get(keys)]
        missing = set(wanted) - {task.task_id for task in tasks}
        if missing:
            held = header.pending if header is not None else self._held_attempts(workflow_id)
            tasks += [self._loaded_task(task) for task in held if task.task_id in missing]
        return tasks, stamps

    def _held_attempts(self, workflow_id: str) -> tuple[Task, ...]:
        """The attempts the workflow's header holds (none if there is no such workflow): the header's
        records only, neither its definition parsed nor its payloads fetched."""
        response = self._client.get_item(
            TableName=self._table,
            Key={"PK": s(workflow_pk(workflow_id)), "SK": s(HEADER_SK)},
            ProjectionExpression="PK, #name, #pending, #expires",
            ExpressionAttributeNames={"#name": "name", "#pending": PENDING, "#expires": EXPIRES_AT},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return pending_tasks(item) if item and self._live(item) else ()

    def _batch_get(self, keys: list[Item], projection: dict[str, str] | None = None) -> Iterable[Item]:
        """The items of ``keys`` that exist (BatchGetItem, consistent, 100 keys a call, unprocessed keys
        asked again); ``projection``: only these attributes, by placeholder (``{"#s": "status"}``)."""
        for start in range(0, len(keys), _BATCH_GET):
            request: dict[str, Any] = {"Keys": keys[start : start + _BATCH_GET], "ConsistentRead": True}
            if projection:
                request["ProjectionExpression"] = ", ".join(projection)
                request["ExpressionAttributeNames"] = projection
            pending: dict[str, Any] = {self._table: request}
            while pending:
                response = self._client.batch_get_item(RequestItems=pending)
                yield from response["Responses"].get(self._table, [])
                pending = response.get("UnprocessedKeys") or {}

    def get_task(self, workflow_id: str, task_id: str) -> Task | None:
        response = self._client.get_item(
            TableName=self._table,
            Key={"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item:
            return self._loaded_task(task_from_item(item))
        held = self._held_attempt(workflow_id, task_id)
        return self._loaded_task(held) if held is not None else None

    def _held_attempt(self, workflow_id: str, task_id: str) -> Task | None:
        return next((task for task in self._held_attempts(workflow_id) if task.task_id == task_id), None)

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
                found.extend(workflow_id_in(i) for i in response.get("Items", []))
                if not response.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return list(dict.fromkeys(w for w in found if w))

    # -- writes ---------------------------------------------------------------------------------------
    def create(self, workflow: Workflow, *, wake_at: int | None) -> None:
        """Write a new header; ConflictError if the id exists, PayloadTooLargeError if its input is over the
        hard limit (nothing is stored then)."""
        stored = self._stored_execution(workflow)
        snapshot = self._stored_snapshot(stored.workflow_definition)
        self._put_new(header_item(stored, snapshot, wake_at=wake_at))

    def _stored_execution(self, workflow: Workflow) -> Workflow:
        """A new execution with its input (up to the hard limit) and variables offloaded."""
        workflow_id = workflow.workflow_id or ""
        return workflow.model_copy(
            update={
                "input": self._offload(workflow.input, workflow_id, limit=MAX_PAYLOAD_BYTES),
                "variables": self._offload(workflow.variables, workflow_id),
            }
        )

    def create_decided(
        self,
        loaded: LoadedWorkflow,
        plan: Plan,
        now: int,
        outbox: list[dict[str, Any]],
        *,
        token: str,
        wake_at: int,
    ) -> frozenset[str]:
        """Write a new workflow together with its first decide: the plan's attempts, then the header with
        the plan applied, its ``outbox`` and a wake-up at ``wake_at`` (not the plan's: the start's safety
        net until :meth:`confirm_start`). Returns the ids of the attempts the header holds (:meth:`commit`).

        ``loaded`` is the execution as it would be loaded before that decide (not stored, no tasks). The
        header stays at version 1, as a created one is, so a decide that loads it before the confirmation
        knows the start's effects may not have happened (``service.executor.run_decide``). Raises
        ConflictError if the workflow exists (taking back the attempts this call wrote, as a commit that
        lost does), PayloadTooLargeError for an input over the hard limit (nothing is written then).
        """
        workflow_id = loaded.header.workflow.workflow_id or ""
        stored = self._stored_execution(loaded.header.workflow)
        item = header_item(stored, self._stored_snapshot(stored.workflow_definition), wake_at=wake_at)
        changed, removed = _header_changes(
            loaded.header,
            self._stored_plan(loaded.header, plan),
            self._run_snapshot(loaded.header, plan),
            now=now,
            retention_s=self._retention_s,
        )
        for name in set(removed) - _WAKE_ATTRIBUTES:
            item.pop(name, None)
        item.update({name: value for name, value in changed.items() if name not in _WAKE_ATTRIBUTES})
        item.update(updateTime=n(now), outbox=doc(outbox))
        held, others = self._holdable(plan.new_tasks, [], item_size(item))
        if held:
            item[PENDING] = pending_value(held)
        created, existing = self._put_new_tasks(others, token)
        try:
            self._put_new(item)
        except ConflictError:
            self._take_back(workflow_id, created, token)
            raise
        except ClientError as error:
            if is_throttling(error):  # refused, so no header: nothing would ever delete the attempts
                self._take_back(workflow_id, created, token)
            raise
        self._claim(existing, token)
        return frozenset(task.task_id for task in held)

    def confirm_start(self, workflow_id: str, wake_at: int | None) -> None:
        """After a workflow's first decide performed its effects (:meth:`create_decided`): version 2, and
        the wake-up its plan asked for instead of the start's. Nothing if a decide committed meanwhile: it
        set the wake-up it needs.

        A confirmation that fails otherwise (throttled, say) is logged, not raised: the workflow started
        and its effects happened, and an error would invite the client to start it again. The start's
        wake-up stays; the sweeper's decide repeats the outbox, re-sending a first task still waiting: a
        duplicate message, which a worker may run twice, and whose second result changes nothing."""
        update = "SET #version = :confirmed"
        values: Item = {":confirmed": n(2), ":created": n(1)}
        if wake_at is None:
            update += " REMOVE wakeAt, wakeShard"
        else:
            update += ", wakeAt = :wakeAt, wakeShard = :wakeShard"
            values.update({":wakeAt": n(wake_at), ":wakeShard": s(wake_shard(workflow_id))})
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(workflow_id)), "SK": s(HEADER_SK)},
                UpdateExpression=update,
                ConditionExpression="#version = :created",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                logger.warning(
                    "the start's confirmation failed; the sweeper finishes it",
                    extra={"workflowId": workflow_id, "error": str(error)},
                )

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

    def commit(
        self, loaded: LoadedWorkflow, plan: Plan, now: int, outbox: list[dict[str, Any]], *, token: str = ""
    ) -> frozenset[str]:
        """Apply a plan: new tasks, task changes, JOIN stamps, then the header (the commit point), then
        deletions. Returns the ids of the attempts the header holds.

        New SCHEDULED attempts are held in the header (no item) while it stays within one write unit
        (:meth:`_holdable`): their first write creates their item (:meth:`_create_held`), and the commit
        drops the header's records of attempts that have items.

        Raises ConflictError when a task or the header changed since ``loaded`` was read, or an attempt to
        count was counted by another decide; the caller reloads and decides again. ``token`` identifies
        the calling decide in its stamps, so its own stamps from a lost race are recognised on the retry.
        Deleting only after the commit means a lost race deletes nothing.

        New task items carry their writer's ``token`` (``owner``). A commit that fails takes back the items
        it created (conditionally: still its own), so a plan that lost leaves no task behind for a later
        commit to expose by reusing its ``seq``. An item that existed already (the same deterministic id,
        written by another decide of the same state) is only claimed once the header commit succeeded:
        a writer that may still lose never takes an item from one that may win.
        """
        workflow_id = loaded.header.workflow.workflow_id
        header = loaded.header
        changed, removed = _header_changes(
            header,
            self._stored_plan(header, plan),
            self._run_snapshot(header, plan),
            now=now,
            retention_s=self._retention_s,
        )
        changed.update({"version": n(header.version + 1), "updateTime": n(now), "outbox": doc(outbox)})
        kept = _still_held(loaded, plan)
        rest = set(header.sizes) - set(changed) - set(removed) - {PENDING}
        held, others = self._holdable(
            plan.new_tasks, kept, sum(header.sizes[name] for name in rest) + item_size(changed)
        )
        if held:
            changed[PENDING] = pending_value(held)
        elif header.pending:
            removed.append(PENDING)
        created, existing = self._put_new_tasks(others, token)
        try:
            for change in plan.task_changes:
                self._update_task(change.task, expected=(change.expected_status.value,))
            for task_id in plan.counted:
                self._stamp(workflow_id, task_id, token)
            self._commit_header(header, changed, removed)
        except ConflictError:
            self._take_back(workflow_id, created, token)
            raise
        self._claim(existing, token)
        self._delete_tasks(workflow_id, [*plan.removed_tasks, *loaded.leftovers])
        return frozenset(task.task_id for task in held)

    def _put_new_tasks(self, tasks: Iterable[Task], token: str) -> tuple[list[str], list[Task]]:
        """Write a plan's new attempts as ``token``'s; returns the ids written and the attempts that
        existed already (the same deterministic id, written by another decide of the same state)."""
        created: list[str] = []
        existing: list[Task] = []
        for task in tasks:
            try:
                self._put_new({**task_item(self._stored_task(task)), _OWNER: s(token)})
                created.append(task.task_id)
            except ConflictError:
                existing.append(task)
        return created, existing

    def _take_back(self, workflow_id: str, task_ids: Iterable[str], token: str) -> None:
        """Delete the items a failed commit created, unless a winning commit claimed one meanwhile."""
        for task_id in task_ids:
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))},
                    ConditionExpression="#owner = :token",
                    ExpressionAttributeNames={"#owner": _OWNER},
                    ExpressionAttributeValues={":token": s(token)},
                )
            except ClientError as error:
                if not _is_conditional_failure(error):
                    raise

    def _claim(self, tasks: Iterable[Task], token: str) -> None:
        """After a successful commit: make the items it found already written its own (so a commit that
        wrote them and lost does not take them back), writing those taken back already."""
        for task in tasks:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={"PK": s(workflow_pk(task.workflow_instance_id)), "SK": s(task_sk(task.task_id))},
                    UpdateExpression="SET #owner = :token",
                    ConditionExpression="attribute_exists(SK)",
                    ExpressionAttributeNames={"#owner": _OWNER},
                    ExpressionAttributeValues={":token": s(token)},
                )
            except ClientError as error:
                if not _is_conditional_failure(error):
                    raise
                with contextlib.suppress(ConflictError):  # written again meanwhile, for this same state
                    self._put_new({**task_item(self._stored_task(task)), _OWNER: s(token)})

    def _delete_tasks(self, workflow_id: str, task_ids: Iterable[str]) -> None:
        """Delete task items in batches of 25 (idempotent: deleting a missing item is not an error)."""
        self._batch_write(
            {"DeleteRequest": {"Key": {"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))}}}
            for task_id in task_ids
        )

    def _batch_write(self, requests: Iterable[dict[str, Any]]) -> None:
        batch_write(self._client, self._table, requests)

    def _update_task(self, task: Task, *, expected: tuple[str, ...], wake_at: int | None = None) -> None:
        """Conditional write of a task's changing attributes; ``wake_at`` marks a deadline for the sweeper.

        The first write of an attempt held in the header creates its item instead (:meth:`_create_held`).
        """
        if is_held(task) and self._create_held(task, expected=expected, wake_at=wake_at):
            return
        values = task_mutable_values(self._stored_task(task, with_input=False))
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

    def create_attempt(self, task: Task) -> bool:
        """Write an attempt held in the header (a worker handed back its record) with a worker's change,
        as its item; False if its item exists already (write the change to it instead)."""
        return self._create_held(task, expected=_OPEN_STATUSES)

    def _create_held(self, task: Task, *, expected: tuple[str, ...], wake_at: int | None = None) -> bool:
        """Write a held attempt's first change as its item, whole (``attribute_not_exists(SK)``): the one
        point where two writers of a held attempt meet. False if its item exists already (another writer
        created it: the caller writes to the item as to any other). ConflictError if the writer expected the
        attempt in another status than a held attempt's (SCHEDULED)."""
        if TaskStatus.SCHEDULED.value not in expected:
            raise ConflictError(task.task_id)
        item = task_item(self._stored_task(task))
        if wake_at is not None:
            item.update(wakeAt=n(wake_at), wakeShard=s(wake_shard(task.workflow_instance_id)))
        try:
            self._put_new(item)
        except ConflictError:
            return False
        mark_written(task)  # a message built from it now (a re-queued attempt's) carries no record
        return True

    def _stamp(self, workflow_id: str, task_id: str, token: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))},
                UpdateExpression="SET #joined = :token",
                ConditionExpression=(
                    "attribute_exists(SK) AND (attribute_not_exists(#joined) OR #joined = :token)"
                ),
                ExpressionAttributeNames={"#joined": _JOINED},
                ExpressionAttributeValues={":token": s(token)},
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise ConflictError(task_id) from error
            raise

    def _holdable(
        self, new_tasks: Iterable[Task], kept: list[Task], header_bytes: int
    ) -> tuple[list[Task], list[Task]]:
        """Which attempts the header holds (``kept``, then the plan's new SCHEDULED attempts, in order, as
        long as they keep the header within one write unit, ``header_bytes`` being the rest of it), and the
        new attempts that get items instead. The first that does not fit ends the holding: the plan's other
        attempts are the same size, and a wide fork would otherwise pack the held records once per branch.

        Not an attempt inside a DO_WHILE (``iteration`` > 0): ``keepLastN`` deletes the items of old
        iterations, and a late duplicate result that carries a deleted attempt's record would create it
        again. No other removal deletes an attempt of the current run.
        """
        held = list(kept)
        others: list[Task] = []
        holding = {task.task_id for task in kept}
        full = len(held) >= MAX_HELD
        for task in new_tasks:
            if task.task_id in holding:
                continue  # committed already, held (a partial decide that did not load it planned it again)
            if full or task.status != TaskStatus.SCHEDULED or task.iteration != 0:
                others.append(task)
                continue
            stored = self._stored_task(task)
            if header_bytes + item_size({PENDING: pending_value([*held, stored])}) > ONE_WRITE_UNIT:
                full = True
                others.append(stored)
                continue
            held.append(stored)
            full = len(held) >= MAX_HELD
        return held, others

    def _commit_header(self, header: Header, changed: Item, removed: list[str]) -> None:
        names = {f"#{name}": name for name in (*changed, *removed)}
        values: Item = {f":{name}": value for name, value in changed.items()}
        values[":expected"] = n(header.version)
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in changed)
        if removed:
            update += " REMOVE " + ", ".join(f"#{name}" for name in removed)
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

    def update_open_task_fields(
        self, workflow_id: str, task_id: str, update: Mapping[str, Any], *, unset: Mapping[str, bool]
    ) -> TaskWrite:
        """Write some fields of an unfinished attempt in one conditional UpdateItem that reads nothing.

        ``update`` maps Task field names (``status`` always among them) to their new values; a None value
        removes the attribute, fields left out keep theirs, and the response-timeout deadline is cleared as
        by any worker's change without one. The attempt comes back after the write (``ReturnValues``
        ``ALL_NEW``) or, when the condition fails, as it is (``ReturnValuesOnConditionCheckFailure``
        ``ALL_OLD``): a finished attempt is told apart from a missing one without a GetItem, and neither
        costs read capacity.

        ``unset`` says, for ``start_time`` and ``poll_count``, whether the caller takes the stored value to be
        still 0 (what it writes depends on that, and DynamoDB has no "set if 0"); the condition checks it,
        so a wrong guess writes nothing and hands back the attempt to compute the change from.
        """
        fields = dict(update)
        if fields.get("output_data"):
            fields["output_data"] = self._offload(fields["output_data"], workflow_id)
        encoded = task_mutable_values(Task().model_copy(update=fields))
        kept = [_WORKER_FIELDS[name] for name, value in update.items() if value is not None]
        removed = [_WORKER_FIELDS[name] for name, value in update.items() if value is None]
        removed += ["wakeAt", "wakeShard"]
        guarded = {_WORKER_FIELDS[name]: zero for name, zero in unset.items()}
        names = {f"#{attribute}": attribute for attribute in ("status", *kept, *removed, *guarded)}
        values: Item = {f":{attribute}": encoded[attribute] for attribute in kept}
        opens = [f":open{i}" for i in range(len(_OPEN_STATUSES))]
        values.update(zip(opens, (s(status) for status in _OPEN_STATUSES), strict=True))
        conditions = [f"#status IN ({', '.join(opens)})"]
        conditions += [f"#{attribute} {'=' if zero else '<>'} :zero" for attribute, zero in guarded.items()]
        if guarded:
            values[":zero"] = n(0)
        update_expression = "SET " + ", ".join(f"#{attribute} = :{attribute}" for attribute in kept)
        update_expression += " REMOVE " + ", ".join(f"#{attribute}" for attribute in removed)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))},
                UpdateExpression=update_expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise
            item = error.response.get("Item")
            if item:
                return TaskWrite(False, task_from_item(item))
            return self._write_held_fields(workflow_id, task_id, fields, unset=unset)
        return TaskWrite(True, task_from_item(response["Attributes"]))

    def _write_held_fields(
        self, workflow_id: str, task_id: str, fields: Mapping[str, Any], *, unset: Mapping[str, bool]
    ) -> TaskWrite:
        """:meth:`update_open_task_fields` for an attempt without an item: held in the header, its first
        write creates the item. A held attempt has neither start time nor poll count, so a caller that took
        one of them to be set gets the attempt back, as from a failed condition."""
        held = self._held_attempt(workflow_id, task_id)
        if held is None or not all(unset.values()):
            return TaskWrite(False, held)
        written = held.model_copy(update=dict(fields))
        if not self._create_held(written, expected=_OPEN_STATUSES):
            return self.update_open_task_fields(workflow_id, task_id, fields, unset=unset)
        return TaskWrite(True, written)

    def lease_task(self, task: Task, *, wake_at: int | None) -> bool:
        """SCHEDULED -> IN_PROGRESS for a polled task; False if someone else got it or it finished."""
        try:
            self._update_task(task, expected=(TaskStatus.SCHEDULED.value,), wake_at=wake_at)
        except ConflictError:
            return False
        return True

    # -- task logs ------------------------------------------------------------------------------------
    def add_logs(self, workflow_id: str, task_id: str, entries: list[dict[str, Any]], *, now: int) -> None:
        """Append task execution logs (their own partition, so loading a workflow never reads them).

        The task is marked first (``hasLogs``), so a removal or the reaper looks for the logs of the few
        tasks that have any instead of querying a log partition per task; a crash in between leaves a
        mark without logs, never logs nobody will delete.
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": s(workflow_pk(workflow_id)), "SK": s(task_sk(task_id))},
                UpdateExpression=f"SET {_HAS_LOGS} = :yes",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":yes": boolean(True)},
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise
            held = self._held_attempt(workflow_id, task_id)
            if held is None:
                return  # the task is gone (its workflow was removed): its logs would never be deleted
            self._create_held(held, expected=_OPEN_STATUSES)
            self.add_logs(workflow_id, task_id, entries, now=now)
            return
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "PK": s(log_pk(task_id)),
                        "SK": s(f"{int(entry.get('createdTime') or now):013d}#{now}#{index:04d}"),
                        "body": doc(entry),
                    }
                }
            }
            for index, entry in enumerate(entries)
        ]
        self._batch_write(requests)

    def get_logs(self, task_id: str) -> list[dict[str, Any]]:
        return [get_doc(item, "body") for item, _ in self._query_partition(log_pk(task_id))]

    # -- removal --------------------------------------------------------------------------------------
    def remove(self, workflow_id: str) -> bool:
        """Delete a workflow's header and every other item of its partition (its task attempts) with their
        logs and its large payloads; False if there is no such workflow (an expired one is deleted all the
        same, ahead of TTL).

        The header goes last: an interrupted removal leaves a workflow that is still found and can be
        removed again, so "no such workflow" always means that nothing of it is left. A decide racing the
        removal may still write a new task attempt after the partition was read; its header commit then
        fails (the header is gone) and that one item stays behind, unreachable.
        """
        pk = workflow_pk(workflow_id)
        header, remains = self._partition_keys(pk)
        if header is None:
            return False
        self._delete_remains(remains)
        self._delete_payloads(workflow_id)
        self._client.delete_item(TableName=self._table, Key={"PK": s(pk), "SK": s(HEADER_SK)})
        return self._live(header)

    def purge_remains(self, workflow_id: str) -> int:
        """Delete what is left of a workflow whose header is gone (TTL deleted it): its task attempts,
        their logs and its large payloads. Returns the task attempts deleted; nothing is deleted while the
        header exists.

        Idempotent: a second call finds an empty partition. One (consistent) Query for the workflow, which
        also tells whether the header exists, one Query per task marked as having logs, then batched deletes.
        """
        header, remains = self._partition_keys(workflow_pk(workflow_id))
        if header is not None:
            return 0
        self._delete_remains(remains)
        self._delete_payloads(workflow_id)
        return len(remains)

    def clear_expired(self, workflow_id: str) -> None:
        """Delete what an expired execution left under ``workflow_id`` — a header past its retention, or
        tasks whose header TTL deleted before the reaper came — so the id can start a new execution
        (deterministic ids: an idempotency key used again once its workflow expired). A live header is
        found by the first item of the Query (the header sorts first) and nothing more is read."""
        pk = workflow_pk(workflow_id)
        first = next(iter(self._query_partition(pk, first_page=1, keys_only=True)), None)
        if first is None or (get_s(first[0], "SK") == HEADER_SK and self._live(first[0])):
            return
        header, remains = self._partition_keys(pk)
        self._delete_remains(remains)
        if header is not None:
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"PK": s(pk), "SK": s(HEADER_SK)},
                    ConditionExpression=f"{EXPIRES_AT} <= :now",
                    ExpressionAttributeValues={":now": n(self._clock() // 1000)},
                )
            except ClientError as error:
                if not _is_conditional_failure(error):
                    raise

    def _delete_payloads(self, workflow_id: str) -> None:
        """Delete the workflow's large payloads: one S3 ListObjectsV2 (and a DeleteObjects when it has any)
        per removed workflow, off the hot path. Listing rather than collecting references from the items
        also finds objects no item points to (a worker's upload whose result came too late to apply)."""
        if self.payloads is not None:
            self.payloads.delete_owner(workflow_id)

    def _partition_keys(self, pk: str) -> tuple[Item | None, list[Item]]:
        """The header's key and TTL (None if there is no header) and the other items' keys and log marks."""
        header: Item | None = None
        others: list[Item] = []
        for item, _ in self._query_partition(pk, keys_only=True):
            if get_s(item, "SK") == HEADER_SK:
                header = item
            else:
                others.append(item)
        return header, others

    def _delete_remains(self, items: list[Item]) -> None:
        """Delete a workflow's non-header items, and the log partitions of the task attempts marked as
        having logs (one Query each)."""
        keys = [{"PK": item["PK"], "SK": item["SK"]} for item in items]
        log_keys: list[Item] = []
        for item in items:
            sort_key = get_s(item, "SK") or ""
            if sort_key.startswith(TASK_SK_PREFIX) and get_bool(item, _HAS_LOGS):
                log_keys.extend(
                    {"PK": log["PK"], "SK": log["SK"]}
                    for log, _ in self._query_partition(
                        log_pk(sort_key.removeprefix(TASK_SK_PREFIX)), keys_only=True
                    )
                )
        self._batch_write({"DeleteRequest": {"Key": key}} for key in [*log_keys, *keys])

    # -- lookups by name and correlation id (GSIs: eventually consistent) -----------------------------
    def workflow_ids_by_name(
        self, name: str, version: int, *, pending_only: bool, created_between: tuple[int, int] | None = None
    ) -> list[str]:
        """Ids of the workflows of ``name`` and ``version``, oldest first: only RUNNING and PAUSED ones with
        ``pending_only``, only those created in the (inclusive) window with ``created_between``.

        One Query per name shard of ``workflows-by-name``; the key condition reads only pending headers
        when asked to (PAUSED and RUNNING are the only statuses that sort between those two names).
        """
        names = {"#shard": "nameShard", "#version": "workflowVersion"}
        values: Item = {":version": n(version)}
        key_condition = "#shard = :shard"
        if pending_only:
            key_condition += " AND #status BETWEEN :paused AND :running"
            names["#status"] = "status"
            values[":paused"] = s(WorkflowStatus.PAUSED.value)
            values[":running"] = s(WorkflowStatus.RUNNING.value)
        row_filter = "#version = :version"
        if created_between is not None:
            row_filter += " AND #created BETWEEN :from AND :to"
            names["#created"] = "createTime"
            values[":from"], values[":to"] = n(created_between[0]), n(created_between[1])
        found: list[tuple[int, str]] = []
        for shard in range(NAME_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": "workflows-by-name",
                "KeyConditionExpression": key_condition,
                "FilterExpression": row_filter,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {**values, ":shard": s(name_shard(name, shard))},
            }
            while True:
                response = self._client.query(**kwargs)
                found.extend(
                    (get_n(item, "createTime"), workflow_id_in(item)) for item in response.get("Items", [])
                )
                if not response.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [workflow_id for _, workflow_id in sorted(found)]

    def workflow_ids_by_correlation(self, name: str, correlation_id: str, *, running_only: bool) -> list[str]:
        """Ids of the workflows of ``name`` started with ``correlation_id`` (only RUNNING ones if asked)."""
        if not correlation_id:
            return []  # never indexed: index keys cannot be empty
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "workflows-by-correlation",
            "KeyConditionExpression": "correlationKey = :correlation AND #name = :name",
            "ExpressionAttributeNames": {"#name": "name"},
            "ExpressionAttributeValues": {":correlation": s(correlation_id), ":name": s(name)},
        }
        if running_only:
            kwargs["FilterExpression"] = "#status = :running"
            kwargs["ExpressionAttributeNames"]["#status"] = "status"
            kwargs["ExpressionAttributeValues"][":running"] = s(WorkflowStatus.RUNNING.value)
        found: list[str] = []
        while True:
            response = self._client.query(**kwargs)
            found.extend(workflow_id_in(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return found
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- search (GSIs: eventually consistent) ----------------------------------------------------------
    def search_by_name(
        self, name: str, status: str | None, created: tuple[int | None, int | None]
    ) -> list[tuple[int, str]]:
        """``(createTime, id)`` of the workflows of ``name`` (any version), of ``status`` when given and
        created in the inclusive ``created`` window (open ends as None): one Query per name shard of
        ``workflows-by-name``, status in the key condition, the window as a filter."""
        names = {"#shard": "nameShard"}
        values: Item = {}
        key_condition = "#shard = :shard"
        if status is not None:
            key_condition += " AND #status = :status"
            names["#status"] = "status"
            values[":status"] = s(status)
        row_filter = _created_filter(created, names, values)
        entries: list[tuple[int, str]] = []
        for shard in range(NAME_SHARDS):
            query: dict[str, Any] = {
                "IndexName": "workflows-by-name",
                "KeyConditionExpression": key_condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {**values, ":shard": s(name_shard(name, shard))},
            }
            if row_filter:
                query["FilterExpression"] = row_filter
            entries.extend(self._index_entries(query))
        return entries

    def search_by_status(self, status: str, created: tuple[int | None, int | None]) -> list[tuple[int, str]]:
        """``(createTime, id)`` of the workflows in ``status`` created in the inclusive ``created`` window:
        one Query per status shard of ``workflows-by-status``, the window in the key condition."""
        names = {"#shard": "statusShard"}
        values: Item = {}
        key_condition = "#shard = :shard"
        window = _created_filter(created, names, values)
        if window:
            key_condition += f" AND {window}"
        entries: list[tuple[int, str]] = []
        for shard in range(STATUS_SHARDS):
            values[":shard"] = s(status_shard(status, shard))
            entries.extend(
                self._index_entries(
                    {
                        "IndexName": "workflows-by-status",
                        "KeyConditionExpression": key_condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": dict(values),
                    }
                )
            )
        return entries

    def workflow_ids_with_correlation(self, correlation_id: str) -> list[str]:
        """Ids of the workflows of any name started with ``correlation_id``."""
        if not correlation_id:
            return []  # never indexed: index keys cannot be empty
        query = {
            "IndexName": "workflows-by-correlation",
            "KeyConditionExpression": "correlationKey = :correlation",
            "ExpressionAttributeValues": {":correlation": s(correlation_id)},
        }
        return [workflow_id for _, workflow_id in self._index_entries(query)]

    def _index_entries(self, query: dict[str, Any]) -> Iterable[tuple[int, str]]:
        """Every ``(createTime, id)`` a GSI Query matches (0 when ``createTime`` is not projected)."""
        kwargs = {"TableName": self._table, **query}
        while True:
            response = self._client.query(**kwargs)
            for item in response.get("Items", []):
                yield get_n(item, "createTime"), workflow_id_in(item)
            if not response.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def load_headers(self, workflow_ids: Iterable[str]) -> dict[str, Workflow]:
        """The workflows (without tasks) of the given ids, by id (BatchGetItem, consistent); missing ids
        are left out."""
        found: dict[str, Workflow] = {}
        for item in self._batch_get(_header_keys(workflow_ids)):
            if self._live(item):
                workflow = self._loaded_header(item).workflow
                found[workflow.workflow_id or ""] = workflow
        return found

    def statuses(self, workflow_ids: Iterable[str]) -> dict[str, WorkflowStatus]:
        """The status of each workflow of the given ids that exists (and is within its retention), reading
        nothing else of the headers: for a watcher of many workflows, whose polls should cost the store as
        little as they can."""
        projection = {"#pk": "PK", "#status": "status", "#expires": EXPIRES_AT}
        return {
            workflow_id_in(item): WorkflowStatus(get_s(item, "status"))
            for item in self._batch_get(_header_keys(workflow_ids), projection)
            if self._live(item)
        }


def _header_keys(workflow_ids: Iterable[str]) -> list[Item]:
    return [
        {"PK": s(workflow_pk(workflow_id)), "SK": s(HEADER_SK)} for workflow_id in dict.fromkeys(workflow_ids)
    ]


def _created_filter(created: tuple[int | None, int | None], names: dict[str, str], values: Item) -> str:
    """A condition on ``createTime`` for an inclusive window with open ends (empty when fully open); adds
    the names and values it uses."""
    low, high = created
    if low is None and high is None:
        return ""
    names["#created"] = "createTime"
    if high is None:
        values[":from"] = n(low or 0)
        return "#created >= :from"
    values[":to"] = n(high)
    if low is None:
        return "#created <= :to"
    values[":from"] = n(low)
    return "#created BETWEEN :from AND :to"


def _still_held(loaded: LoadedWorkflow, plan: Plan) -> list[Task]:
    """The header's held attempts a commit of ``plan`` keeps: not for a new run (it starts with none), not
    those with an item now (loaded from it) or that the plan changes (its commit creates their items) or
    removes."""
    if plan.new_run is not None:
        return []
    written = {task.task_id for task in loaded.tasks if not is_held(task)}
    dropped = written | {change.task.task_id for change in plan.task_changes} | set(plan.removed_tasks)
    return [task for task in loaded.header.pending if task.task_id not in dropped]


def _header_changes(
    header: Header,
    plan: Plan,
    snapshot: DefinitionSnapshot | None,
    *,
    now: int = 0,
    retention_s: int = 0,
) -> tuple[dict[str, AttributeValue], list[str]]:
    """The header attributes a plan sets, and those it removes (besides version, updateTime, outbox).
    ``snapshot``: the stored definition of the plan's new run, if it has one.

    A status change also moves the retention TTL: a workflow that finishes expires ``retention_s`` after
    its end (never with 0), one that runs again (retry, restart, rerun) loses its expiry.
    """
    changed: dict[str, AttributeValue | None] = {}
    removed: list[str] = []
    if plan.last_seq > header.last_seq:
        changed["lastSeq"] = n(plan.last_seq)
    if plan.joins is not None:
        changed["joins"] = joins_doc(plan.joins)
    if plan.new_run is not None:
        removed += _new_run_changes(header, plan.new_run, snapshot, changed)
    change = plan.workflow
    if change is not None:
        changed.update(
            status=s(change.status.value) if change.status else None,
            output=doc(change.output) if change.output is not None else None,
            variables=doc(change.variables) if change.variables is not None else None,
            reason=s(change.reason_for_incompletion) if change.reason_for_incompletion else None,
            endTime=n(change.end_time) if change.end_time is not None else None,
            failedRefs=_optional_list(change.failed_reference_task_names),
            failedNames=_optional_list(change.failed_task_names),
            lastRetriedTime=n(change.last_retried_time) if change.last_retried_time is not None else None,
        )
        if change.status:
            changed["statusShard"] = s(status_shard_of(change.status.value, header.workflow.workflow_id))
            end = change.end_time or header.workflow.end_time or now
            expiry = expires_at(end, retention_s) if change.status.is_terminal else None
            if expiry is None:
                removed.append(EXPIRES_AT)
            else:
                changed[EXPIRES_AT] = n(expiry)
        if change.clear_reason:
            removed.append("reason")
    if plan.wake_at is not None and not plan.ends:
        changed.update(wakeAt=n(plan.wake_at), wakeShard=s(wake_shard(header.workflow.workflow_id)))
    else:
        removed += ["wakeAt", "wakeShard"]
    return {name: value for name, value in changed.items() if value is not None}, removed


def _new_run_changes(
    header: Header,
    run: NewRun,
    snapshot: DefinitionSnapshot | None,
    changed: dict[str, AttributeValue | None],
) -> list[str]:
    """Add a restart's or rerun's header attributes to ``changed``; returns the attributes it removes.

    A new correlation id moves the ``workflows-by-correlation`` key with it (no key for an empty one).
    """
    updates: dict[str, Any] = {"workflow_definition": run.definition or header.workflow.workflow_definition}
    if run.input is not None:
        updates["input"] = run.input
    changed.update(
        generation=n(run.generation),
        firstSeq=n(run.first_seq),
        createTime=n(run.create_time),
        workflowVersion=n(run.definition.version) if run.definition else None,
        **header_static(header.workflow.model_copy(update=updates), snapshot),
    )
    removed: list[str] = []
    rules = tuple(rule for rule in header.superseded if rule.to_seq >= run.first_seq)
    if run.superseded is not None:
        changed[SUPERSEDED] = superseded_doc((*rules, run.superseded))
    elif header.superseded:
        removed.append(SUPERSEDED)  # a run from the first task: first_seq leaves every earlier attempt out
    if run.correlation_id is None:
        return removed
    changed["correlationId"] = s(run.correlation_id)
    if run.correlation_id and header.workflow.workflow_name:
        changed["correlationKey"] = s(run.correlation_id)
        return removed
    return [*removed, "correlationKey"]


def _optional_list(values: tuple[str, ...] | None) -> AttributeValue | None:
    return doc(list(values)) if values is not None else None
