"""Task search (``GET /api/tasks/search`` and ``search-v2``, REFERENCE §5.3) without an index over tasks.

Conductor answers a task search from its indexing backend. Baton keeps no GSI over task items for it: such
an index would cost a GSI write on every task write (create, lease, result, retry — on every task of every
workflow) to serve a search that is rarely used. Instead a task search is scoped to workflows found the way
workflow search finds them, and the task attempts of those workflows are read and filtered:

* ``taskId`` — each task id names its workflow (``engine.ids.workflow_id_of``); the tasks are then read by
  key (BatchGetItem) with their workflows' headers;
* ``workflowId`` — those workflows, one Query per workflow partition;
* ``freeText`` other than ``*``, ``correlationId``, ``workflowType`` (each narrowed by the other workflow
  clauses) — the workflows :func:`workflow_search.matching` finds (free text: the workflow of that id and
  those of that correlation id), then one Query per workflow partition; free text also reads a task of that
  id (by key, in the workflow its id names).

A query with none of these is refused with a 400 naming them, never answered with a Scan. At most
:data:`MAX_WORKFLOWS` workflows are read per request: a scope that matches more is refused with a 400 asking
to narrow it (with a ``startTime`` window, a correlation id or workflow ids). Answering the newest
``MAX_WORKFLOWS`` instead was rejected: ``totalHits`` and the later pages would silently leave out tasks.
Reads therefore grow with the index entries of the matching workflows (small projected items, as in
workflow search) and the tasks of at most ``MAX_WORKFLOWS`` workflows, never with the table. The workflows
are read from the table (consistent), so the tasks show their current state; the GSIs that find them are
eventually consistent, as for workflow search.

The query uses workflow search's grammar (:func:`workflow_search.parse_clauses`): clauses joined by
``AND``, ``field = value`` or ``field IN (a, b)``. Workflow clauses: ``workflowId``, ``workflowType``,
``correlationId`` and ``startTime`` (``>``, ``>=``, ``<``, ``<=``; the *workflow's* start, as in workflow
search). Task clauses: ``taskId``, ``taskType``, ``taskDefName``, ``status`` (the *task's* status),
``workerId`` and ``referenceTaskName`` (a Baton addition). Every clause must hold; ``freeText`` must match
the task's id, its workflow's id or its workflow's correlation id. ``totalHits`` counts the matching task
attempts (each retry is one). ``sort`` takes ``scheduledTime``, ``startTime``, ``updateTime`` and ``endTime``;
the default is ``scheduledTime:DESC`` (newest first; ``startTime`` is 0 until a task starts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from operator import attrgetter

from batonflow.engine.ids import workflow_id_of
from batonflow.errors import BadRequestError
from batonflow.model import Task, TaskStatus, Workflow
from batonflow.service import workflow_search
from batonflow.service.runtime import Runtime
from batonflow.service.workflow_search import SearchQuery

DEFAULT_SIZE = workflow_search.DEFAULT_SIZE
MAX_WORKFLOWS = 100
"""Workflows read per task search at most; a wider scope is refused with a 400 asking to narrow it."""
SORT_FIELDS = ("scheduledTime", "startTime", "updateTime", "endTime")
DEFAULT_SORT = (("scheduledTime", False),)

_SORT_ATTRIBUTES = {
    "scheduledTime": "scheduled_time",
    "startTime": "start_time",
    "updateTime": "update_time",
    "endTime": "end_time",
}
_SETS = {
    "workflowId": "workflow_ids",
    "taskId": "task_ids",
    "taskType": "task_types",
    "taskDefName": "task_def_names",
    "status": "statuses",
    "referenceTaskName": "references",
    "workerId": "worker_ids",
}
_WORKFLOW_CLAUSES = {
    "workflowType": ("=", "IN"),
    "correlationId": ("=", "IN"),
    "startTime": (">", ">=", "<", "<="),
}
"""Clauses about the workflow, parsed by workflow search into :attr:`TaskQuery.workflows`."""
_UNSCOPED = (
    "A task search must be scoped to workflows: give workflowId, workflowType, correlationId or taskId in "
    "the query, or a workflow id, correlation id or task id as freeText"
)


@dataclass(frozen=True)
class TaskQuery:
    """A parsed task search ``query``: every given constraint must hold (None: unconstrained)."""

    workflows: SearchQuery = field(default_factory=SearchQuery)
    """``workflowType``, ``correlationId`` and ``startTime``: constraints on the task's workflow."""
    workflow_ids: frozenset[str] | None = None
    task_ids: frozenset[str] | None = None
    task_types: frozenset[str] | None = None
    task_def_names: frozenset[str] | None = None
    statuses: frozenset[TaskStatus] | None = None
    references: frozenset[str] | None = None
    worker_ids: frozenset[str] | None = None

    @property
    def scoped(self) -> bool:
        """Whether the query names the workflows (or tasks) to read."""
        return (
            self.workflow_ids is not None
            or self.task_ids is not None
            or self.workflows.workflow_types is not None
            or self.workflows.correlation_ids is not None
        )

    def matches(self, workflow: Workflow, task: Task) -> bool:
        return (
            self.workflows.matches(workflow)
            and _allows(self.workflow_ids, task.workflow_instance_id)
            and _allows(self.task_ids, task.task_id)
            and _allows(self.task_types, task.task_type)
            and _allows(self.task_def_names, task.task_def_name)
            and _allows(self.statuses, task.status)
            and _allows(self.references, task.reference_task_name)
            and _allows(self.worker_ids, task.worker_id)
        )


def _allows(allowed: frozenset[str] | frozenset[TaskStatus] | None, value: object) -> bool:
    return allowed is None or value in allowed


def parse_query(text: str | None) -> TaskQuery:
    """Parse a task search ``query``; BadRequestError names what is not supported."""
    return workflow_search.parse_clauses(text, TaskQuery(), _clause)


def parse_sort(text: str | None) -> tuple[tuple[str, bool], ...]:
    """``field:ASC|DESC`` terms over :data:`SORT_FIELDS`, as in workflow search."""
    return workflow_search.parse_sort(text, fields=SORT_FIELDS, default=DEFAULT_SORT)


def _clause(tokens: list[str], position: int, parsed: TaskQuery) -> tuple[TaskQuery, int]:
    workflow_search.require_clause(tokens, position)
    field_name, operator = tokens[position], tokens[position + 1].upper()
    if operator in _WORKFLOW_CLAUSES.get(field_name, ()):
        workflows, position = workflow_search.workflow_clause(tokens, position, parsed.workflows)
        return replace(parsed, workflows=workflows), position
    if field_name in _SETS and operator in ("=", "IN"):
        values, position = workflow_search.clause_values(tokens, position)
        return _constrain(parsed, field_name, values), position
    raise BadRequestError(
        f"Unsupported task search clause '{field_name} {tokens[position + 1]}': use "
        f"{', '.join(['workflowType', 'correlationId', *_SETS])} with = or IN (...), and startTime with "
        ">, >=, < or <=, joined by AND"
    )


def _constrain(parsed: TaskQuery, field_name: str, values: list[str]) -> TaskQuery:
    """Add ``field`` IN ``values``; a field given twice must match both times."""
    given: frozenset[str] | frozenset[TaskStatus] = frozenset(values)
    if field_name == "status":
        unknown = sorted(v for v in values if v not in TaskStatus.__members__)
        if unknown:
            raise BadRequestError(f"Unknown task status in search query: {', '.join(unknown)}")
        given = frozenset(TaskStatus(v) for v in values)
    attribute = _SETS[field_name]
    current = getattr(parsed, attribute)
    return replace(parsed, **{attribute: given if current is None else current & given})


@dataclass(frozen=True)
class TaskPage:
    total_hits: int
    tasks: list[Task]


def search(
    runtime: Runtime,
    query: TaskQuery,
    *,
    free_text: str | None = None,
    sort: tuple[tuple[str, bool], ...] = DEFAULT_SORT,
    start: int = 0,
    size: int = DEFAULT_SIZE,
) -> TaskPage:
    """The task attempts matching ``query`` and ``free_text``, sorted, from ``start``, at most ``size``."""
    workflow_search.check_page(start, size)
    text = (free_text or "").strip()
    text = "" if text == "*" else text
    if not query.scoped and not text:
        raise BadRequestError(_UNSCOPED)
    found = {
        task.task_id: task
        for workflow, tasks in _read_scope(runtime, query, text)
        for task in tasks
        if query.matches(workflow, task) and _matches_text(text, workflow, task)
    }
    ordered = sort_tasks(found.values(), sort)
    return TaskPage(len(ordered), ordered[start : start + size])


def _matches_text(text: str, workflow: Workflow, task: Task) -> bool:
    return not text or text in (task.task_id, workflow.workflow_id, workflow.correlation_id)


def sort_tasks(tasks: Iterable[Task], sort: tuple[tuple[str, bool], ...]) -> list[Task]:
    """The tasks ordered by the sort keys, then by workflow and scheduling order (stable pages)."""
    ordered = sorted(tasks, key=lambda t: (t.workflow_instance_id or "", t.seq, t.task_id or ""))
    for field_name, ascending in reversed(sort):
        ordered.sort(key=attrgetter(_SORT_ATTRIBUTES[field_name]), reverse=not ascending)
    return ordered


def _read_scope(runtime: Runtime, query: TaskQuery, text: str) -> list[tuple[Workflow, list[Task]]]:
    """The workflows in scope with their task attempts (all of them, or those a task id names).

    The scope comes from the most selective clause given: task ids, workflow ids, free text, then the
    workflows workflow search finds; the other clauses are filters applied by the caller.
    """
    if query.task_ids is not None:
        return _read_tasks(runtime, _workflows_of_tasks(query.task_ids))
    if query.workflow_ids is not None:
        return _read_workflows(runtime, _keys(query.workflow_ids))
    if query.workflows.empty_window:
        return []
    created, _ = workflow_search.matching(runtime, query.workflows, free_text=text or None)
    found = _read_workflows(runtime, sorted(created))
    if text:  # it may also be a task id
        found += _read_tasks(runtime, _workflows_of_tasks({text}))
    return found


def _keys(values: Iterable[str]) -> list[str]:
    """The values that can be DynamoDB keys (longer ones name nothing Baton stores), sorted."""
    return sorted(v for v in values if v and len(v) <= workflow_search.MAX_KEY_TEXT)


def _check_bound(workflows: int) -> None:
    if workflows > MAX_WORKFLOWS:
        raise BadRequestError(
            f"Task search reads at most {MAX_WORKFLOWS} workflows per request and this one matches "
            f"{workflows}: narrow it with a startTime window (the workflows' start), a correlationId or "
            "workflowId"
        )


def _workflows_of_tasks(task_ids: Iterable[str]) -> dict[str, list[str]]:
    """Task ids by the id of the workflow each names; ids that name none are left out (those that name a
    workflow or task that does not exist are left out by the reads)."""
    by_workflow: dict[str, list[str]] = {}
    for task_id in _keys(task_ids):
        workflow_id = workflow_id_of(task_id)
        if workflow_id:
            by_workflow.setdefault(workflow_id, []).append(task_id)
    return by_workflow


def _read_workflows(runtime: Runtime, workflow_ids: list[str]) -> list[tuple[Workflow, list[Task]]]:
    """Every workflow with all its task attempts: one (paged) Query per workflow partition."""
    _check_bound(len(workflow_ids))
    found = []
    for workflow_id in workflow_ids:
        loaded = runtime.executions.load(workflow_id)
        if loaded is not None:
            found.append((loaded.header.workflow, loaded.committed_tasks))
    return found


def _read_tasks(runtime: Runtime, by_workflow: dict[str, list[str]]) -> list[tuple[Workflow, list[Task]]]:
    """The named task attempts by key (BatchGetItem per workflow) with their workflows' headers."""
    _check_bound(len(by_workflow))
    headers = runtime.executions.load_headers(by_workflow)
    found = []
    for workflow_id, task_ids in by_workflow.items():
        if workflow_id in headers:
            tasks, _ = runtime.executions.get_tasks(workflow_id, task_ids)
            found.append((headers[workflow_id], tasks))
    return found
