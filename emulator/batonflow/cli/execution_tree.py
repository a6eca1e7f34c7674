"""An execution as a tree: what ``baton status`` prints (text or JSON) and ``baton start --wait`` redraws.

Conductor's ``GET /workflow/{id}`` lists tasks flat, in ``seq`` order. The nesting comes from the workflow's
definition snapshot (``workflowDefinition``): a task listed in a FORK_JOIN's ``forkTasks`` goes under that
fork (one group per branch), a task of a DO_WHILE's ``loopOver`` under the loop (one group per
``iteration``; its ref carries ``__N``), a task of a SWITCH/DECISION case under the switch (one group per
case). Tasks a FORK_JOIN_DYNAMIC spawned are not in the definition: its FORK task's ``inputData.forkedTasks``
names them, one branch each. A SUB_WORKFLOW task gets its child execution, fetched by ``subWorkflowId``,
as ``subWorkflow`` (depth and number of fetches bounded).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

MAX_SUB_WORKFLOW_DEPTH = 3
"""Sub-workflows nested this deep are shown by id only."""
MAX_SUB_WORKFLOW_FETCHES = 25
"""Child executions fetched for one tree at most (a dynamic fork of sub-workflows can be wide)."""
REASON_WIDTH = 160

STATUS_STYLES = {
    "COMPLETED": "green",
    "COMPLETED_WITH_ERRORS": "yellow",
    "RUNNING": "cyan",
    "IN_PROGRESS": "cyan",
    "SCHEDULED": "blue",
    "PAUSED": "magenta",
    "SKIPPED": "dim",
    "CANCELED": "dim",
    "FAILED": "red",
    "FAILED_WITH_TERMINAL_ERROR": "red",
    "TIMED_OUT": "red",
    "TERMINATED": "red",
}
TERMINAL_TASK_STATUSES = frozenset(
    {
        "COMPLETED",
        "COMPLETED_WITH_ERRORS",
        "SKIPPED",
        "CANCELED",
        "FAILED",
        "FAILED_WITH_TERMINAL_ERROR",
        "TIMED_OUT",
    }
)
_ITERATION_SUFFIX = re.compile(r"^(?P<base>.+)__(?P<n>\d+)$")

Placement = tuple[str, str, Any]
"""Where a definition puts a ref: (container ref, group kind ``branch``/``iteration``/``case``, group key)."""
FetchWorkflow = Callable[[str], dict[str, Any] | None]
"""Fetch a child execution by id; None when it is gone."""


def build_tree(workflow: dict[str, Any], now_ms: int, fetch: FetchWorkflow | None = None) -> dict[str, Any]:
    """The execution as nested plain data (the shape ``baton status --help`` documents); ``fetch`` resolves
    sub-workflows."""
    budget = [MAX_SUB_WORKFLOW_FETCHES]
    return _workflow_tree(workflow, now_ms, fetch, depth=0, budget=budget)


def _workflow_tree(
    workflow: dict[str, Any],
    now_ms: int,
    fetch: FetchWorkflow | None,
    depth: int,
    budget: list[int],
) -> dict[str, Any]:
    tasks = list(workflow.get("tasks") or [])
    placements = _definition_placements((workflow.get("workflowDefinition") or {}).get("tasks") or [])
    placements.update(_dynamic_fork_placements(tasks))
    attempts = Counter(str(task.get("referenceTaskName") or "") for task in tasks)
    nodes = [_task_node(task, now_ms, attempts) for task in tasks]
    latest: dict[str, dict[str, Any]] = {}
    for node in nodes:
        latest[node["ref"]] = node  # tasks come in seq order: the last attempt wins
    roots: list[dict[str, Any]] = []
    for task, node in zip(tasks, nodes, strict=True):
        parent, kind, key = _parent(task, node, placements, latest)
        if parent is None:
            roots.append(node)
        else:
            _group(parent, kind, key)["tasks"].append(node)
        child_id = node["subWorkflowId"]
        if child_id and fetch is not None and depth < MAX_SUB_WORKFLOW_DEPTH and budget[0] > 0:
            budget[0] -= 1
            child = fetch(child_id)
            if child is not None:
                node["subWorkflow"] = _workflow_tree(child, now_ms, fetch, depth + 1, budget)
    for node in nodes:
        node["groups"].sort(key=lambda group: (group["kind"] == "case", _sort_key(group["key"])))
    status = workflow.get("status")
    start, end = workflow.get("startTime") or workflow.get("createTime"), workflow.get("endTime")
    return {
        "workflowId": workflow.get("workflowId"),
        "name": workflow.get("workflowName"),
        "version": workflow.get("workflowVersion"),
        "status": status,
        "correlationId": workflow.get("correlationId"),
        "parentWorkflowId": workflow.get("parentWorkflowId") or None,
        "startTime": start or None,
        "endTime": end or None,
        "durationMs": _duration(start, end, now_ms, running=status in ("RUNNING", "PAUSED")),
        "reason": workflow.get("reasonForIncompletion") or None,
        "tasks": roots,
    }


def _definition_placements(
    workflow_tasks: Iterable[dict[str, Any]], container: Placement | None = None
) -> dict[str, Placement]:
    found: dict[str, Placement] = {}
    for workflow_task in workflow_tasks:
        ref = str(workflow_task.get("taskReferenceName") or "")
        if container is not None and ref:
            found[ref] = container
        kind = workflow_task.get("type")
        if kind == "FORK_JOIN":
            for index, branch in enumerate(workflow_task.get("forkTasks") or [], start=1):
                found.update(_definition_placements(branch, (ref, "branch", index)))
        elif kind == "DO_WHILE":
            found.update(
                _definition_placements(workflow_task.get("loopOver") or [], (ref, "iteration", None))
            )
        elif kind in ("SWITCH", "DECISION"):
            for case, branch in (workflow_task.get("decisionCases") or {}).items():
                found.update(_definition_placements(branch, (ref, "case", str(case))))
            found.update(
                _definition_placements(workflow_task.get("defaultCase") or [], (ref, "case", "default"))
            )
    return found


def _dynamic_fork_placements(tasks: Iterable[dict[str, Any]]) -> dict[str, Placement]:
    found: dict[str, Placement] = {}
    for task in tasks:
        if (task.get("workflowTask") or {}).get("type") != "FORK_JOIN_DYNAMIC":
            continue
        fork_ref = _base_ref(task)
        forked = (task.get("inputData") or {}).get("forkedTasks") or []
        for index, ref in enumerate(forked, start=1):
            found[_strip_iteration(str(ref))] = (fork_ref, "branch", index)
    return found


def _parent(
    task: dict[str, Any],
    node: dict[str, Any],
    placements: dict[str, Placement],
    latest: dict[str, dict[str, Any]],
) -> tuple[dict[str, Any] | None, str, Any]:
    placement = placements.get(_base_ref(task))
    if placement is None:
        return None, "", None
    container, kind, key = placement
    iteration = task.get("iteration") or 0
    if kind == "iteration":
        key = iteration
    # a fork or switch inside a loop runs as <ref>__N, alongside the tasks of iteration N
    for ref in (f"{container}__{iteration}", container) if iteration else (container,):
        parent = latest.get(ref)
        if parent is not None and parent is not node:
            return parent, kind, key
    return None, "", None


def _group(parent: dict[str, Any], kind: str, key: Any) -> dict[str, Any]:
    for group in parent["groups"]:
        if group["kind"] == kind and group["key"] == key:
            return group
    group = {"kind": kind, "key": key, "tasks": []}
    parent["groups"].append(group)
    return group


def _task_node(task: dict[str, Any], now_ms: int, attempts: Counter[str]) -> dict[str, Any]:
    status = task.get("status")
    start = task.get("startTime") or task.get("scheduledTime")
    ref = str(task.get("referenceTaskName") or "")
    output = task.get("outputData") or {}
    return {
        "taskId": task.get("taskId"),
        "ref": ref,
        "name": task.get("taskDefName"),
        "type": (task.get("workflowTask") or {}).get("type") or task.get("taskType"),
        "status": status,
        "seq": task.get("seq"),
        "retryCount": task.get("retryCount") or 0,
        "iteration": task.get("iteration") or 0,
        "startTime": task.get("startTime") or None,
        "endTime": task.get("endTime") or None,
        "durationMs": _duration(
            start, task.get("endTime"), now_ms, running=status not in TERMINAL_TASK_STATUSES
        ),
        "workerId": task.get("workerId") or None,
        "reason": task.get("reasonForIncompletion") or None,
        "subWorkflowId": task.get("subWorkflowId") or output.get("subWorkflowId") or None,
        "groups": [],
        "subWorkflow": None,
        "_attempts": attempts[ref],  # the renderer numbers attempts only where there are several
    }


def _base_ref(task: dict[str, Any]) -> str:
    ref = str(task.get("referenceTaskName") or "")
    return _strip_iteration(ref) if task.get("iteration") else ref


def _strip_iteration(ref: str) -> str:
    found = _ITERATION_SUFFIX.match(ref)
    return found.group("base") if found else ref


def _duration(start: int | None, end: int | None, now_ms: int, running: bool) -> int | None:
    if not start:
        return None
    if end:
        return max(0, end - start)
    return max(0, now_ms - start) if running else None


def _sort_key(key: Any) -> tuple[int, Any]:
    return (0, key) if isinstance(key, int) else (1, str(key))


def public(tree: dict[str, Any]) -> dict[str, Any]:
    """The tree without the renderer's private keys (those starting with ``_``), for ``--json``."""
    cleaned: dict[str, Any] = {}
    for key, value in tree.items():
        if key.startswith("_"):
            continue
        if key == "tasks":
            value = [public(task) for task in value]
        elif key == "groups":
            value = [{**group, "tasks": [public(task) for task in group["tasks"]]} for group in value]
        elif key == "subWorkflow" and value is not None:
            value = public(value)
        cleaned[key] = value
    return cleaned


def render_tree(tree: dict[str, Any]) -> Tree:
    """A rich Tree: one line per task attempt, branches/iterations/cases and sub-workflows nested."""
    root = Tree(_workflow_label(tree), guide_style="dim")
    _add_tasks(root, tree["tasks"])
    return root


def _workflow_label(tree: dict[str, Any]) -> Text:
    parts = [
        f"[bold]{escape(str(tree['name']))}[/bold] v{tree['version']}",
        f"[dim]{escape(str(tree['workflowId']))}[/dim]",
        status_markup(tree["status"]),
    ]
    if tree["durationMs"] is not None:
        parts.append(format_duration(tree["durationMs"]))
    label = Text.from_markup("  ".join(parts))
    if tree["reason"]:
        label.append("\n")
        label.append(_clip(tree["reason"]), style="red")
    return label


def _add_tasks(parent: Tree, tasks: list[dict[str, Any]]) -> None:
    for task in tasks:
        branch = parent.add(_task_label(task))
        for group in task["groups"]:
            _add_tasks(branch.add(Text(_group_label(group), style="dim italic")), group["tasks"])
        if task["subWorkflow"] is not None:
            child = branch.add(_workflow_label(task["subWorkflow"]))
            _add_tasks(child, task["subWorkflow"]["tasks"])


def _task_label(task: dict[str, Any]) -> Text:
    parts = [f"[bold]{escape(task['ref'])}[/bold]", f"[dim]{escape(str(task['type']))}[/dim]"]
    parts.append(status_markup(task["status"]))
    if task["retryCount"] or task["_attempts"] > 1:
        parts.append(f"attempt {task['retryCount'] + 1}")
    if task["durationMs"] is not None:
        parts.append(format_duration(task["durationMs"]))
    if task["workerId"]:
        parts.append(f"[dim]worker[/dim] {escape(task['workerId'])}")
    if task["subWorkflowId"] and task["subWorkflow"] is None:
        parts.append(f"[dim]sub-workflow[/dim] {escape(task['subWorkflowId'])}")
    label = Text.from_markup("  ".join(parts))
    if task["reason"]:
        label.append("  ")
        label.append(_clip(task["reason"]), style="red")
    return label


def _group_label(group: dict[str, Any]) -> str:
    if group["kind"] == "case":
        return f"case {group['key']}"
    return f"{group['kind']} {group['key']}"


def status_markup(status: str | None) -> str:
    text = escape(str(status or "?"))
    style = STATUS_STYLES.get(str(status), "white")
    return f"[{style}]{text}[/{style}]"


def format_duration(ms: int) -> str:
    """``850 ms``, ``2.3 s``, ``4m 05s``, ``2h 03m``."""
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _clip(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= REASON_WIDTH else line[: REASON_WIDTH - 1] + "…"
