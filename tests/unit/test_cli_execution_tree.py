"""Pure parts of the `baton` API commands: the execution tree, the search query and the order of a push."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console

from batonflow.cli.defs import plan
from batonflow.cli.execution_tree import build_tree, public, render_tree
from batonflow.cli.search import build_query, parse_since

NOW = 1_000_000


def executed(ref: str, seq: int, kind: str = "INLINE", **fields: Any) -> dict[str, Any]:
    return {
        "taskId": f"id-{seq}",
        "referenceTaskName": ref,
        "taskDefName": ref,
        "taskType": kind,
        "workflowTask": {"type": kind},
        "status": "COMPLETED",
        "seq": seq,
        "retryCount": 0,
        "scheduledTime": 1000,
        "startTime": 1000,
        "endTime": 1500,
        **fields,
    }


def workflow(definition: list[dict[str, Any]], tasks: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "workflowId": "wf-1",
        "workflowName": "flow",
        "workflowVersion": 2,
        "status": "RUNNING",
        "startTime": 900,
        "endTime": 0,
        "workflowDefinition": {"tasks": definition},
        "tasks": tasks,
        **fields,
    }


def refs(tasks: list[dict[str, Any]]) -> list[Any]:
    """Refs, with each task's groups as (kind, key, [...]) after it."""
    found: list[Any] = []
    for task in tasks:
        found.append(task["ref"])
        found.extend((g["kind"], g["key"], refs(g["tasks"])) for g in task["groups"])
    return found


def test_dynamic_fork_tasks_are_branches_and_switch_cases_nest_inside_loop_iterations():
    switch = {
        "taskReferenceName": "sw",
        "type": "SWITCH",
        "decisionCases": {"big": [{"taskReferenceName": "shout", "type": "INLINE"}]},
        "defaultCase": [{"taskReferenceName": "whisper", "type": "INLINE"}],
    }
    definition = [
        {"taskReferenceName": "dyn", "type": "FORK_JOIN_DYNAMIC"},
        {"taskReferenceName": "dyn_join", "type": "JOIN"},
        {"taskReferenceName": "loop", "type": "DO_WHILE", "loopOver": [switch]},
    ]
    tasks = [
        executed(
            "dyn",
            1,
            "FORK",
            workflowTask={"type": "FORK_JOIN_DYNAMIC"},
            inputData={"forkedTasks": ["_a_0", "_a_1"]},
        ),
        executed("_a_0", 2, "SIMPLE"),
        executed("_a_1", 3, "SIMPLE"),
        executed("dyn_join", 4, "JOIN"),
        executed("loop", 5, "DO_WHILE", iteration=2, status="IN_PROGRESS", endTime=0),
        executed("sw__1", 6, "SWITCH", iteration=1),
        executed("whisper__1", 7, iteration=1),
        executed("sw__2", 8, "SWITCH", iteration=2),
        executed("shout__2", 9, iteration=2),
    ]

    tree = build_tree(workflow(definition, tasks), NOW)

    assert refs(tree["tasks"]) == [
        "dyn",
        ("branch", 1, ["_a_0"]),
        ("branch", 2, ["_a_1"]),
        "dyn_join",
        "loop",
        ("iteration", 1, ["sw__1", ("case", "default", ["whisper__1"])]),
        ("iteration", 2, ["sw__2", ("case", "big", ["shout__2"])]),
    ]
    loop = tree["tasks"][2]
    assert (loop["type"], loop["status"], loop["durationMs"]) == ("DO_WHILE", "IN_PROGRESS", NOW - 1000)
    assert tree["durationMs"] == NOW - 900


def test_every_attempt_is_a_line_and_sub_workflows_are_fetched_once_per_task():
    definition = [{"taskReferenceName": "call", "type": "SUB_WORKFLOW"}]
    tasks = [
        executed(
            "call", 1, "SUB_WORKFLOW", status="FAILED", subWorkflowId="child-1", reasonForIncompletion="boom"
        ),
        executed(
            "call", 2, "SUB_WORKFLOW", retryCount=1, outputData={"subWorkflowId": "child-2"}, workerId="w"
        ),
    ]
    children = {
        "child-2": workflow(
            [], [executed("inner", 1)], workflowId="child-2", workflowName="kid", status="COMPLETED"
        )
    }
    fetched: list[str] = []

    def fetch(workflow_id: str) -> dict[str, Any] | None:
        fetched.append(workflow_id)
        return children.get(workflow_id)  # child-1 is gone (retention)

    tree = public(build_tree(workflow(definition, tasks, status="COMPLETED", endTime=2900), NOW, fetch))

    assert fetched == ["child-1", "child-2"]
    first, second = tree["tasks"]
    assert (first["retryCount"], first["reason"], first["subWorkflow"]) == (0, "boom", None)
    assert second["subWorkflow"]["name"] == "kid" and refs(second["subWorkflow"]["tasks"]) == ["inner"]
    assert tree["durationMs"] == 2000 and second["durationMs"] == 500 and second["workerId"] == "w"
    json.dumps(tree)  # plain data only: what --json prints

    console = Console(width=120, record=True)
    console.print(render_tree(build_tree(workflow(definition, tasks), NOW, fetch)))
    lines = console.export_text().splitlines()
    assert lines[0].startswith("flow v2  wf-1  RUNNING")
    assert "call  SUB_WORKFLOW  FAILED  attempt 1  500 ms" in lines[1] and lines[1].endswith("boom")
    assert "sub-workflow child-1" in lines[1]
    assert "call  SUB_WORKFLOW  COMPLETED  attempt 2  500 ms  worker w" in lines[2]
    assert "kid v2  child-2  COMPLETED" in lines[3] and "inner  INLINE  COMPLETED" in lines[4]


def test_search_query_from_the_options():
    assert build_query(None, [], None) == ""
    assert (
        build_query("orders", ["failed", "TIMED_OUT", "FAILED"], 1234)
        == "workflowType = 'orders' AND status IN (FAILED,TIMED_OUT) AND startTime > 1234"
    )
    with pytest.raises(typer.BadParameter):
        build_query(None, ["DONE"], None)


def test_since_is_an_age_or_an_iso_date():
    now = 10 * 86_400_000
    assert parse_since("30m", now) == now - 30 * 60_000
    assert parse_since("2d", now) == now - 2 * 86_400_000
    assert parse_since("1970-01-02", now) == 86_400_000
    assert parse_since("1970-01-01T02:00+01:00", now) == 3_600_000
    with pytest.raises(typer.BadParameter):
        parse_since("yesterday", now)


def test_push_registers_task_defs_of_every_file_before_any_workflow_def():
    flow = {"name": "flow", "tasks": []}
    batches = plan(
        [
            (Path("a.json"), flow),
            (
                Path("b.json"),
                [{"name": "t1"}, {"name": "other_flow", "version": 3, "tasks": []}, {"name": "t2"}],
            ),
            (Path("c.json"), {"name": "t3"}),
        ]
    )
    assert [(b.source.name, b.kind, b.names) for b in batches] == [
        ("b.json", "task", "t1, t2"),
        ("c.json", "task", "t3"),
        ("a.json", "workflow", "flow v1"),
        ("b.json", "workflow", "other_flow v3"),
    ]
