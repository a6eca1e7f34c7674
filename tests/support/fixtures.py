"""Conductor's own test-harness definitions (``tests/fixtures/conductor``) and a scripted worker to run them.

The definitions are copied byte for byte from conductor-oss (see the README next to them), so a test can
register exactly what Conductor's Java suite registers. ``FixtureDriver`` plays every worker a workflow
needs: it looks at the execution (sub-workflows included) for SCHEDULED worker tasks, polls their types
through the REST API, answers each task as the test's script says, pumps the queues and repeats until the
workflow is terminal. A workflow that stops moving without ending is reported, not waited for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.support.stack import Harness

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "conductor"
TERMINAL = frozenset({"COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT"})
_SYSTEM_TASK_TYPES = frozenset(
    {
        "DECISION",
        "SWITCH",
        "FORK",
        "FORK_JOIN",
        "FORK_JOIN_DYNAMIC",
        "JOIN",
        "EXCLUSIVE_JOIN",
        "DO_WHILE",
        "SUB_WORKFLOW",
        "START_WORKFLOW",
        "TERMINATE",
        "SET_VARIABLE",
        "INLINE",
        "LAMBDA",
        "JSON_JQ_TRANSFORM",
        "NOOP",
        "WAIT",
        "HUMAN",
        "HTTP",
        "EVENT",
        "KAFKA_PUBLISH",
    }
)


def fixture_files() -> list[str]:
    """The copied definition files, by name."""
    return sorted(path.name for path in FIXTURES.glob("*.json"))


def load(file_name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / file_name).read_text(encoding="utf-8"))


def task_types(tasks: list[dict[str, Any]]) -> set[str]:
    """Every task type in a task list, through branches, forks, loop bodies and inline sub-workflows."""
    found: set[str] = set()
    for task in tasks:
        found.add(task.get("type", "SIMPLE"))
        nested = [
            *task.get("decisionCases", {}).values(),
            task.get("defaultCase") or [],
            task.get("loopOver") or [],
        ]
        nested += task.get("forkTasks") or []
        inline = (task.get("subWorkflowParam") or {}).get("workflowDefinition")
        if isinstance(inline, dict):
            nested.append(inline.get("tasks", []))
        for branch in nested:
            found |= task_types(branch)
    return found


def base_ref(reference_name: str) -> str:
    """A loop-body ref without its ``__<iteration>`` suffix (REFERENCE §2.9)."""
    return reference_name.split("__", 1)[0]


def done(reference_name: str) -> str:
    """What the default reply puts in ``output.op`` for a task; tests use it to spell expected values."""
    return f"{base_ref(reference_name)} done"


@dataclass(frozen=True)
class Reply:
    """A worker's answer to one polled task; ``output=None`` means the default ``{"op": "<ref> done"}``."""

    status: str = "COMPLETED"
    output: dict[str, Any] | None = None
    reason: str | None = None


def failed(reason: str, output: dict[str, Any] | None = None) -> Reply:
    return Reply("FAILED", output or {}, reason)


Answer = Reply | Callable[[dict[str, Any]], Reply]
"""A fixed reply, or one computed from the polled task (e.g. from its ``inputData`` or ``retryCount``)."""


@dataclass
class FixtureDriver:
    """Registers fixtures, starts workflows and answers their worker tasks until they end."""

    harness: Harness
    started: list[str] = field(default_factory=list)

    def register(self, *file_names: str) -> None:
        response = self.harness.api("PUT", "/api/metadata/workflow", [load(name) for name in file_names])
        assert response.status == 200, response.text

    def register_task_defs(self, *task_defs: dict[str, Any]) -> None:
        response = self.harness.api("POST", "/api/metadata/taskdefs", list(task_defs))
        assert response.status == 200, response.text

    def start(self, name: str, workflow_input: dict[str, Any], *, version: int = 1) -> str:
        response = self.harness.api("POST", f"/api/workflow/{quote(name)}?version={version}", workflow_input)
        assert response.status == 200, response.text
        self.started.append(response.text)
        self.harness.pump()
        return response.text

    def execution(self, workflow_id: str) -> dict[str, Any]:
        response = self.harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=true")
        assert response.status == 200, response.text
        return response.json()

    def tree(self, workflow_id: str) -> Iterator[dict[str, Any]]:
        """The execution and, depth first, every sub-workflow it started."""
        execution = self.execution(workflow_id)
        yield execution
        for task in execution.get("tasks", []):
            if task["taskType"] == "SUB_WORKFLOW" and task.get("subWorkflowId"):
                yield from self.tree(task["subWorkflowId"])

    def run(
        self, name: str, workflow_input: dict[str, Any], script: Mapping[str, Answer] | None = None
    ) -> dict[str, Any]:
        return self.drive(self.start(name, workflow_input), script)

    def drive(
        self, workflow_id: str, script: Mapping[str, Answer] | None = None, *, max_rounds: int = 40
    ) -> dict[str, Any]:
        """Answer worker tasks (``script`` maps base refs to answers; default: complete) until the end."""
        for _ in range(max_rounds):
            executions = list(self.tree(workflow_id))
            if executions[0]["status"] in TERMINAL:
                return executions[0]
            pending = sorted(
                {
                    task["taskType"]
                    for execution in executions
                    for task in execution.get("tasks", [])
                    if task["status"] == "SCHEDULED" and task["taskType"] not in _SYSTEM_TASK_TYPES
                }
            )
            assert pending, f"workflow {workflow_id} is stuck: {_summary(executions)}"
            for task_type in pending:
                for task in self._poll(task_type):
                    self._answer(task, script or {})
            self.harness.pump()
        raise AssertionError(f"workflow {workflow_id} did not end in {max_rounds} rounds")

    def close(self) -> None:
        """Terminate whatever a failed test left running, so its tasks cannot reach the next test."""
        for workflow_id in self.started:
            if self.execution(workflow_id)["status"] not in TERMINAL:
                self.harness.api("DELETE", f"/api/workflow/{workflow_id}?reason=test+ended")
        self.harness.pump()

    def _poll(self, task_type: str) -> list[dict[str, Any]]:
        target = f"/api/tasks/poll/batch/{quote(task_type)}?count=10&timeout=100&workerid=fixture-worker"
        response = self.harness.api("GET", target)
        assert response.status == 200, response.text
        return response.json()

    def _answer(self, task: dict[str, Any], script: Mapping[str, Answer]) -> None:
        answer = script.get(base_ref(task["referenceTaskName"]), Reply())
        reply = answer(task) if callable(answer) else answer
        body = {
            "workflowInstanceId": task["workflowInstanceId"],
            "taskId": task["taskId"],
            "status": reply.status,
            "outputData": {"op": done(task["referenceTaskName"])} if reply.output is None else reply.output,
            "reasonForIncompletion": reply.reason,
            "workerId": "fixture-worker",
        }
        response = self.harness.api("POST", "/api/tasks", body)
        assert response.status == 200, response.text


def _summary(executions: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{e['workflowName']} {e['status']}: "
        + ", ".join(f"{t['referenceTaskName']}={t['status']}" for t in e.get("tasks", []))
        for e in executions
    )
