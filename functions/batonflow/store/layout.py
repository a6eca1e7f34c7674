"""Item shapes of the single table.

==================  ==================  =========================================================
PK                  SK                  item
==================  ==================  =========================================================
``WF#<id>``         ``#HEADER``         workflow header: status, version, its definition's snapshot id...
``WF#<id>``         ``T#<taskId>``      one task attempt
``DEFS``            ``WF#<name>#<v>``   workflow definition (version zero-padded, so they sort)
``DEFS``            ``TD#<name>``       task definition
``SNAP#<id>``       ``#SNAPSHOT``       a definition snapshot, shared by the executions that run it
``LOG#<taskId>``    ``<time>#...``      task execution logs (their own partition)
==================  ==================  =========================================================

One Query on ``WF#<id>`` loads a whole execution. Task and header items split their fields into parts
written once (input, a task's workflowTask...) and top-level attributes that change (status, output, times)
so updates are small ``SET`` expressions with conditions on ``status`` or ``version``.

The write-once parts are zlib-compressed JSON in binary attributes (``static``), without the fields that
hold their model default (parsing re-creates them). DynamoDB bills a write by the size of the whole item,
not of what changed, and every decide rewrites the header: stored as plain JSON, a ten-task definition
snapshot (each task with its TaskDef, defaults spelled out) made the header some 9 KB, so ten write units
per decide instead of one. Nothing reads these attributes but the decoders here: every attribute an index,
a key condition, a filter or a projection names is a plain attribute.

Definition snapshots: an execution runs the definition as it was when it started (Conductor's snapshot),
but the header holds only the snapshot's id (``definitionRef``), a hash of its content. The snapshot is an
item of its own (:class:`DefinitionSnapshot`), written before the first header that names it and never
changed, so every execution of a definition shares one, and a process that has read it once never reads it
again. Compressed, even a small definition is hundreds of bytes (a ten-task chain's, about 330): in the
header, it took most of the one write unit every decide pays for, and pushed larger workflows' headers, and
so every decide of theirs, over it.

A task item holds its id only in its sort key: a task id names its workflow (``engine.ids``), so a bare task
id is read by key, with no index from task ids to workflows (that GSI cost a second write unit per attempt).

Sparse GSIs: ``wake-index`` (``wakeShard``/``wakeAt``, items with a pending deadline) for the sweeper; on
headers only, ``workflows-by-name`` (``nameShard``/``status``: a workflow name spread over ``NAME_SHARDS``
keys so one busy name does not make a hot index partition) and ``workflows-by-correlation``
(``correlationKey``, a non-empty correlation id, and ``name``) and ``workflows-by-status``
(``statusShard``/``createTime``: a status spread over ``STATUS_SHARDS`` keys, for searches without a workflow
name). They keep their index keys on attributes that change only with the status (or a new run), so the many
header writes of a decide do not write to the indexes.

Retention: a finished workflow's header carries ``expiresAt`` (epoch seconds, the table's TTL attribute), set
by the header write that finishes it and removed by the one that re-opens it. DynamoDB's TTL deletes only
that item; the reaper function, on the stream's REMOVE record, deletes the rest of the partition and the
tasks' log partitions. Until AWS gets round to the deletion (up to days), an expired header reads as absent.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batonflow.engine.plan import Superseded
from batonflow.engine.state import JoinCount
from batonflow.model import Task, Workflow, WorkflowDef
from batonflow.model.base import ConductorModel
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

HEADER_SK = "#HEADER"
SUPERSEDED = "superseded"
PENDING = "pending"
"""Header attribute: attempts held in the header until their first write creates their item (packed)."""
ONE_WRITE_UNIT = 1024
"""Bytes of item per DynamoDB write unit."""
LOG_PK_PREFIX = "LOG#"
EXPIRES_AT = "expiresAt"
"""The table's TTL attribute (``TimeToLiveSpecification`` in template.yaml), in epoch seconds."""
TASK_SK_PREFIX = "T#"
DEFS_PK = "DEFS"
SNAPSHOT_PK_PREFIX = "SNAP#"
SNAPSHOT_SK = "#SNAPSHOT"
DEFINITION_REF = "definitionRef"
"""Header attribute: the id of the execution's definition snapshot (see :class:`DefinitionSnapshot`)."""
WAKE_SHARDS = 8
NAME_SHARDS = 8
STATUS_SHARDS = 8

TASK_MUTABLE_FIELDS = frozenset(
    {
        "status",
        "output_data",
        "reason_for_incompletion",
        "worker_id",
        "start_time",
        "end_time",
        "update_time",
        "poll_count",
        "callback_after_seconds",
        "retried",
        "sub_workflow_id",
        "iteration",
    }
)
"""Task fields stored as their own attributes (see ``task_mutable_values``), not in ``static``."""
_TASK_STATIC_EXCLUDE = {
    *TASK_MUTABLE_FIELDS,
    "task_id",
    "workflow_instance_id",  # in PK
    "seq",
    "reference_task_name",
    "retry_count",
    "task_definition",  # computed from workflow_task
    "loop_over_task",  # computed from iteration
}


def workflow_pk(workflow_id: str) -> str:
    return f"WF#{workflow_id}"


def workflow_id_in(item: Item) -> str:
    """The workflow id of an item of a workflow's partition (the inverse of :func:`workflow_pk`)."""
    return (get_s(item, "PK") or "").removeprefix("WF#")


def task_sk(task_id: str) -> str:
    return f"{TASK_SK_PREFIX}{task_id}"


def log_pk(task_id: str) -> str:
    return f"{LOG_PK_PREFIX}{task_id}"


def wake_shard(workflow_id: str) -> str:
    return f"W{zlib.crc32(workflow_id.encode()) % WAKE_SHARDS}"


def name_shard(name: str, shard: int) -> str:
    return f"{name}#{shard}"


def name_shard_of(name: str, workflow_id: str) -> str:
    return name_shard(name, zlib.crc32(workflow_id.encode()) % NAME_SHARDS)


def status_shard(status: str, shard: int) -> str:
    return f"{status}#{shard}"


def status_shard_of(status: str, workflow_id: str) -> str:
    return status_shard(status, zlib.crc32(workflow_id.encode()) % STATUS_SHARDS)


# -- tasks ---------------------------------------------------------------------------------------------
def task_mutable_values(task: Task) -> Item:
    """The changing attributes of a task item, as DynamoDB values (None-valued ones left out)."""
    values: Item = {
        "status": s(task.status.value),
        "output": doc(task.output_data),
        "startTime": n(task.start_time),
        "endTime": n(task.end_time),
        "updateTime": n(task.update_time),
        "pollCount": n(task.poll_count),
        "callbackAfterSeconds": n(task.callback_after_seconds),
        "retried": boolean(task.retried),
        "iteration": n(task.iteration),
    }
    if task.reason_for_incompletion is not None:
        values["reason"] = s(task.reason_for_incompletion)
    if task.worker_id is not None:
        values["workerId"] = s(task.worker_id)
    if task.sub_workflow_id is not None:
        values["subWorkflowId"] = s(task.sub_workflow_id)
    return values


def _compact_json(model: ConductorModel, **fields: Any) -> bytes:
    """Some of a model's fields as JSON: ``None`` and default values left out, since parsing gives them
    back (which also keeps every TaskDef default out of a definition snapshot)."""
    return model.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=True, **fields).encode()


def _packed(model: ConductorModel, **fields: Any) -> AttributeValue:
    """Some of a model's fields as compressed :func:`_compact_json`."""
    return {"B": zlib.compress(_compact_json(model, **fields))}


def _unpacked(item: Item, name: str) -> dict[str, Any]:
    return json.loads(zlib.decompress(item[name]["B"]))


def task_item(task: Task) -> Item:
    item: Item = {
        "PK": s(workflow_pk(task.workflow_instance_id)),
        "SK": s(task_sk(task.task_id)),
        "seq": n(task.seq),
        "ref": s(task.reference_task_name),
        "retryCount": n(task.retry_count),
        "static": _packed(task, exclude=_TASK_STATIC_EXCLUDE),
    }
    item.update(task_mutable_values(task))
    return item


def task_from_item(item: Item) -> Task:
    data = _unpacked(item, "static")
    data.update(
        taskId=(get_s(item, "SK") or "").removeprefix(TASK_SK_PREFIX),
        workflowInstanceId=(get_s(item, "PK") or "").removeprefix("WF#"),
        seq=get_n(item, "seq"),
        referenceTaskName=get_s(item, "ref"),
        retryCount=get_n(item, "retryCount"),
        status=get_s(item, "status"),
        outputData=get_doc(item, "output", {}),
        reasonForIncompletion=get_s(item, "reason"),
        workerId=get_s(item, "workerId"),
        startTime=get_n(item, "startTime"),
        endTime=get_n(item, "endTime"),
        updateTime=get_n(item, "updateTime"),
        pollCount=get_n(item, "pollCount"),
        callbackAfterSeconds=get_n(item, "callbackAfterSeconds"),
        retried=get_bool(item, "retried"),
        subWorkflowId=get_s(item, "subWorkflowId"),
        iteration=get_n(item, "iteration"),
    )
    return Task.model_validate(data)


_PENDING_EXCLUDE = frozenset({"workflow_instance_id", "workflow_type", "task_definition", "loop_over_task"})
"""Left out of a held attempt's record: what its header gives back (the workflow's id and name) and what
is computed."""


def pending_value(tasks: list[Task], *, exclude: frozenset[str] = _PENDING_EXCLUDE) -> AttributeValue:
    """Attempts held in the header, packed together: their fields at their default left out, and of the
    task id only what follows the workflow id (``engine.ids``), since every byte of the header is written
    again by every decide."""
    records = [
        {
            **task.model_dump(
                mode="json", by_alias=True, exclude_none=True, exclude_defaults=True, exclude=set(exclude)
            ),
            "taskId": (task.task_id or "").removeprefix(f"{task.workflow_instance_id}-"),
        }
        for task in tasks
    ]
    return {"B": zlib.compress(json.dumps(records, separators=(",", ":")).encode())}


def pending_tasks(item: Item) -> tuple[Task, ...]:
    """The attempts a header item holds, each marked as held (:func:`is_held`)."""
    if PENDING not in item:
        return ()
    workflow_id = workflow_id_in(item)
    workflow_name = get_s(item, "name")
    tasks = tuple(
        Task.model_validate(
            {
                "workflowType": workflow_name,
                **record,
                "taskId": _full_task_id(workflow_id, record["taskId"]),
                "workflowInstanceId": workflow_id,
            }
        )
        for record in json.loads(zlib.decompress(item[PENDING]["B"]))
    )
    for task in tasks:
        task._held = True
    return tasks


def _full_task_id(workflow_id: str, stored: str) -> str:
    """A record's task id: the suffix after the workflow id (``engine.ids``), or a whole id of any other
    shape."""
    return stored if "-" in stored else f"{workflow_id}-{stored}"


def mark_written(task: Task) -> None:
    """Mark ``task`` in place as an attempt whose item exists: its first write just created it."""
    task._held = False


def is_held(task: Task) -> bool:
    """Whether ``task`` was read from its workflow's header, where an attempt waits for its first write
    (it had no item when read). ``model_copy`` keeps the mark, so a change of a held attempt is one too."""
    return task._held


def as_held(task: Task) -> Task:
    """A copy of ``task`` marked as held, for an attempt a commit held in the header."""
    copy = task.model_copy()
    copy._held = True
    return copy


def packed_attempt(task: Task) -> str:
    """A held attempt's record as text, for its task message (:func:`attempt_from_packed`)."""
    packed = pending_value([task], exclude=_PENDING_EXCLUDE - {"workflow_type"})  # no header to name it
    return base64.b64encode(packed["B"]).decode()


def attempt_from_packed(text: str, workflow_id: str) -> Task:
    """The attempt a task message carried (:func:`packed_attempt`), marked held until its item is created;
    ValueError if it is not one."""
    try:
        (task,) = pending_tasks({"PK": s(workflow_pk(workflow_id)), PENDING: {"B": base64.b64decode(text)}})
    except (KeyError, TypeError, ValueError, zlib.error) as error:
        raise ValueError(f"not a packed attempt: {error}") from error
    return task


# -- workflow header ----------------------------------------------------------------------------------
_HEADER_STATIC = {
    "input",
    "priority",
    "task_to_domain",
    "parent_workflow_id",
    "parent_workflow_task_id",
    "idempotency_key",
    "created_by",
    "event",
    "re_run_from_workflow_id",
}


@dataclass(frozen=True)
class Header:
    """A loaded workflow header: the execution (without tasks) and the engine's bookkeeping."""

    workflow: Workflow
    version: int
    generation: int = 0
    wake_at: int | None = None
    outbox: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
    first_seq: int = 0
    """Where the current run's task ``seq`` begins (after a restart, earlier attempts are not part of it)."""
    joins: dict[str, JoinCount] = field(default_factory=dict)
    superseded: tuple[Superseded, ...] = ()
    """Attempts reruns from a task discarded: not part of the workflow, whether or not deleted yet."""
    pending: tuple[Task, ...] = ()
    """Attempts held in the header: created by a commit, perhaps written since (then their item wins)."""
    sizes: dict[str, int] = field(default_factory=dict)
    """Each attribute's share of the item's size (name and value), as DynamoDB bills writes by it."""

    def keeps(self, task: Task) -> bool:
        """Whether a stored attempt belongs to the current run."""
        return task.seq >= self.first_seq and not any(rule.covers(task) for rule in self.superseded)


def header_item(
    workflow: Workflow,
    snapshot: DefinitionSnapshot | None,
    *,
    generation: int = 0,
    wake_at: int | None = None,
) -> Item:
    """A new header; ``snapshot``, the workflow's definition, must be stored before it."""
    item: Item = {
        "PK": s(workflow_pk(workflow.workflow_id)),
        "SK": s(HEADER_SK),
        "version": n(1),
        "generation": n(generation),
        "name": s(workflow.workflow_name or ""),
        "workflowVersion": n(workflow.workflow_version or 0),
        "createTime": n(workflow.create_time),
        **header_static(workflow, snapshot),
    }
    item.update(header_mutable_values(workflow))
    item["statusShard"] = s(status_shard_of(workflow.status.value, workflow.workflow_id or ""))
    if workflow.correlation_id is not None:
        item["correlationId"] = s(workflow.correlation_id)
    if workflow.workflow_name:
        item["nameShard"] = s(name_shard_of(workflow.workflow_name, workflow.workflow_id or ""))
        if workflow.correlation_id:  # index keys must not be empty strings
            item["correlationKey"] = s(workflow.correlation_id)
    if wake_at is not None:
        item["wakeAt"] = n(wake_at)
        item["wakeShard"] = s(wake_shard(workflow.workflow_id))
    return item


@dataclass(frozen=True)
class DefinitionSnapshot:
    """A definition as an execution runs it, named by a hash of its content: the same definition gives the
    same id in every process, so a snapshot is written once and, being never changed, can be kept by any
    process that has read it."""

    ref: str
    text: bytes = field(repr=False)
    """The definition's JSON, without the fields at their model default (parsing gives them back)."""

    @classmethod
    def of(cls, definition: WorkflowDef) -> DefinitionSnapshot:
        text = _compact_json(definition)
        return cls(ref=hashlib.sha256(text).hexdigest()[:32], text=text)

    def item(self) -> Item:
        return {
            "PK": s(snapshot_pk(self.ref)),
            "SK": s(SNAPSHOT_SK),
            "definition": {"B": zlib.compress(self.text)},
        }


def snapshot_pk(ref: str) -> str:
    return f"{SNAPSHOT_PK_PREFIX}{ref}"


def definition_from_snapshot(item: Item) -> WorkflowDef:
    """The definition a snapshot item holds. Parsing it costs several times the rest of a header (some
    0.1 ms for ten tasks, each with a TaskDef), so the store keeps parsed snapshots by id."""
    return WorkflowDef.model_validate_json(zlib.decompress(item["definition"]["B"]))


def header_static(workflow: Workflow, snapshot: DefinitionSnapshot | None) -> Item:
    """The header attributes written once per run: the fields in ``static`` (input, ...) and the id of
    ``snapshot``, the run's definition (None: it has none)."""
    static: Item = {"static": _packed(workflow, include=_HEADER_STATIC)}
    if snapshot is not None:
        static[DEFINITION_REF] = s(snapshot.ref)
    return static


def header_mutable_values(workflow: Workflow) -> Item:
    """A new header's changing attributes; those at their default (empty, zero) are left out, as
    :func:`header_from_item` gives them back and every byte of the header is written by every decide."""
    values: Item = {"status": s(workflow.status.value), "updateTime": n(workflow.update_time)}
    optional = {
        "output": doc(workflow.output) if workflow.output else None,
        "variables": doc(workflow.variables) if workflow.variables else None,
        "endTime": n(workflow.end_time) if workflow.end_time else None,
        "lastRetriedTime": n(workflow.last_retried_time) if workflow.last_retried_time else None,
        "failedRefs": doc(sorted(workflow.failed_reference_task_names))
        if workflow.failed_reference_task_names
        else None,
        "failedNames": doc(sorted(workflow.failed_task_names)) if workflow.failed_task_names else None,
        "reason": s(workflow.reason_for_incompletion)
        if workflow.reason_for_incompletion is not None
        else None,
    }
    values.update({name: value for name, value in optional.items() if value is not None})
    return values


def header_from_item(item: Item, definition: Callable[[str], WorkflowDef]) -> Header:
    """A stored header; ``definition`` gives the definition of a snapshot id."""
    data = _unpacked(item, "static")
    ref = get_s(item, DEFINITION_REF)
    if ref is not None:
        data["workflowDefinition"] = definition(ref)
    workflow_id = (get_s(item, "PK") or "").removeprefix("WF#")
    data.update(
        workflowId=workflow_id,
        workflowName=get_s(item, "name"),
        workflowVersion=get_n(item, "workflowVersion"),
        correlationId=get_s(item, "correlationId"),
        status=get_s(item, "status"),
        output=get_doc(item, "output", {}),
        variables=get_doc(item, "variables", {}),
        reasonForIncompletion=get_s(item, "reason"),
        createTime=get_n(item, "createTime"),
        updateTime=get_n(item, "updateTime"),
        endTime=get_n(item, "endTime"),
        lastRetriedTime=get_n(item, "lastRetriedTime"),
        failedReferenceTaskNames=get_doc(item, "failedRefs", []),
        failedTaskNames=get_doc(item, "failedNames", []),
    )
    wake_at = get_n(item, "wakeAt", -1)
    return Header(
        workflow=Workflow.model_validate(data),
        version=get_n(item, "version"),
        generation=get_n(item, "generation"),
        wake_at=None if wake_at < 0 else wake_at,
        outbox=get_doc(item, "outbox", []),
        last_seq=get_n(item, "lastSeq"),
        first_seq=get_n(item, "firstSeq"),
        joins={join_id: JoinCount(**value) for join_id, value in get_doc(item, "joins", {}).items()},
        superseded=tuple(Superseded(*rule) for rule in get_doc(item, SUPERSEDED, [])),
        pending=pending_tasks(item),
        sizes={name: item_size({name: value}) for name, value in item.items()},
    )


def superseded_doc(rules: tuple[Superseded, ...]) -> AttributeValue:
    return doc([[rule.from_seq, rule.to_seq, rule.reference] for rule in rules])


def expires_at(end_time_ms: int, retention_s: int) -> int | None:
    """The TTL (epoch seconds) of a workflow that finished at ``end_time_ms``; None keeps it forever."""
    return end_time_ms // 1000 + retention_s if retention_s > 0 else None


def is_expired(item: Item, now_ms: int) -> bool:
    """Whether an item's TTL has passed: DynamoDB may still return it for a while, but it is gone."""
    expiry = get_n(item, EXPIRES_AT, -1)
    return expiry >= 0 and expiry * 1000 <= now_ms


def joins_doc(joins: dict[str, JoinCount]) -> AttributeValue:
    return doc({join_id: dataclasses.asdict(count) for join_id, count in joins.items()})
