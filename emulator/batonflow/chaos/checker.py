"""Judging one workflow of a chaos run from its final JSON (``GET /workflow/{id}?includeTasks=true``).

Outcome, one per workflow:

* ``correct``: COMPLETED with exactly the expected output;
* ``wrong_output``: finished any other way (another status, or another output);
* ``stuck``: still RUNNING (or PAUSED) and nothing in it moved for longer than the sweep bound, the time
  within which the sweeper must have repaired a lost wake-up;
* ``lost``: not finished by the run's deadline otherwise, or unknown to the engine.

Double completions are counted besides the outcome, from the same JSON and the workers' ledger: two
attempts with one (reference, iteration, retry count), two COMPLETED attempts of one step, one task id
listed twice, two tasks with one ``seq``, more attempts of a worker task than its ``retryCount`` allows, or
a task id a worker executed that the workflow does not list. A worker executing one attempt twice is
*not* one: delivery to workers is at least once, and the engine keeps the first result.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("correct", "wrong_output", "lost", "stuck")
FINISHED = frozenset({"COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "TERMINATED"})
_ITERATION_SUFFIX = re.compile(r"__\d+$")


@dataclass
class Verdict:
    workflow_id: str
    kind: str
    outcome: str
    doubles: list[str] = field(default_factory=list)
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    """For a workflow that went wrong: its JSON in short, its children's, the faults that touched them."""


def classify(
    workflow: Mapping[str, Any] | None,
    expected: Mapping[str, Any],
    *,
    workflow_id: str,
    kind: str,
    now_ms: int,
    sweep_bound_ms: int,
) -> Verdict:
    """The outcome of one workflow (double completions are :func:`double_completions`' job)."""
    if workflow is None:
        return Verdict(workflow_id, kind, "lost", detail="the engine does not know this workflow")
    status = str(workflow.get("status"))
    if status in FINISHED:
        output = workflow.get("output") or {}
        if status == "COMPLETED" and output == dict(expected):
            return Verdict(workflow_id, kind, "correct")
        reason = workflow.get("reasonForIncompletion") or ""
        return Verdict(
            workflow_id,
            kind,
            "wrong_output",
            detail=f"{status} {output!r}, expected {dict(expected)!r} {reason}",
        )
    idle_ms = now_ms - last_progress_ms(workflow)
    if idle_ms > sweep_bound_ms:
        return Verdict(
            workflow_id, kind, "stuck", detail=f"{status}, nothing moved for {idle_ms / 1000:.0f} s"
        )
    return Verdict(
        workflow_id, kind, "lost", detail=f"{status} at the deadline, last moved {idle_ms / 1000:.0f} s ago"
    )


_TASK_FIELDS = (
    "referenceTaskName",
    "taskType",
    "status",
    "retryCount",
    "seq",
    "taskId",
    "subWorkflowId",
    "scheduledTime",
    "startTime",
    "endTime",
    "updateTime",
    "reasonForIncompletion",
)


def brief(workflow: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A workflow's JSON cut to what tells its history: status, reason, and each task's state and times."""
    if workflow is None:
        return None
    return {
        "workflowId": workflow.get("workflowId"),
        "status": workflow.get("status"),
        "reasonForIncompletion": workflow.get("reasonForIncompletion"),
        "output": workflow.get("output"),
        "updateTime": workflow.get("updateTime"),
        "tasks": [
            {key: task[key] for key in _TASK_FIELDS if task.get(key) not in (None, "")}
            for task in workflow.get("tasks") or []
        ],
    }


def last_progress_ms(workflow: Mapping[str, Any]) -> int:
    """The latest time anything in the workflow changed (epoch ms)."""
    times = [int(workflow.get(key) or 0) for key in ("updateTime", "startTime", "createTime")]
    for task in workflow.get("tasks") or []:
        times.extend(
            int(task.get(key) or 0) for key in ("updateTime", "endTime", "startTime", "scheduledTime")
        )
    return max(times)


def double_completions(
    workflow: Mapping[str, Any],
    *,
    retries: Mapping[str, int],
    executed: Mapping[tuple[str, int], int] | None = None,
) -> list[str]:
    """What the engine did twice in this workflow; ``retries`` is each worker task's ``retryCount``,
    ``executed`` the workers' ledger for it, (task id, attempt) → executions."""
    tasks = list(workflow.get("tasks") or [])
    found: list[str] = []
    attempts = Counter((_base(t), int(t.get("iteration") or 0), int(t.get("retryCount") or 0)) for t in tasks)
    found += [
        f"two attempts of {ref} iteration {it} retry {rc}" for (ref, it, rc), n in attempts.items() if n > 1
    ]
    completed = Counter(
        (_base(t), int(t.get("iteration") or 0)) for t in tasks if t.get("status") == "COMPLETED"
    )
    found += [f"{ref} iteration {it} completed {n} times" for (ref, it), n in completed.items() if n > 1]
    ids = Counter(t.get("taskId") for t in tasks)
    found += [f"task id {task_id} listed {n} times" for task_id, n in ids.items() if n > 1]
    seqs = Counter(t.get("seq") for t in tasks if t.get("seq") is not None)
    found += [f"seq {seq} used {n} times" for seq, n in seqs.items() if n > 1]
    per_step = Counter(
        (_base(t), int(t.get("iteration") or 0), t.get("taskDefName"))
        for t in tasks
        if t.get("taskDefName") in retries
    )
    found += [
        f"{ref} iteration {it}: {n} attempts, {retries[name] + 1} allowed"
        for (ref, it, name), n in per_step.items()
        if n > retries[name] + 1
    ]
    known = set(ids)
    found += [
        f"a worker ran task {task_id}, which the workflow does not list"
        for task_id, _ in executed or {}
        if task_id not in known
    ]
    return found


def _base(task: Mapping[str, Any]) -> str:
    return _ITERATION_SUFFIX.sub("", str(task.get("referenceTaskName")))
