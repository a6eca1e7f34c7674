"""The chaos checker's verdicts, on workflow JSON written here."""

from __future__ import annotations

from typing import Any

from batonflow.chaos import workloads
from batonflow.chaos.checker import classify, double_completions

NOW = 1_000_000
BOUND = 75_000


def workflow(status: str, output: dict | None = None, tasks: list[dict] | None = None, at: int = NOW) -> dict:
    return {
        "workflowId": "w",
        "status": status,
        "output": output or {},
        "updateTime": at,
        "tasks": tasks or [],
    }


def task(ref: str, *, retry: int = 0, status: str = "COMPLETED", seq: int = 1, **fields: Any) -> dict:
    return {
        "referenceTaskName": ref,
        "taskId": f"{ref}-{retry}-{fields.get('iteration', 0)}",
        "retryCount": retry,
        "status": status,
        "seq": seq,
        "taskDefName": fields.pop("name", ref),
        **fields,
    }


def verdict(found: dict | None, expected: dict) -> str:
    return classify(found, expected, workflow_id="w", kind="k", now_ms=NOW, sweep_bound_ms=BOUND).outcome


def test_completed_with_the_expected_output_is_correct_and_anything_else_finished_is_wrong():
    assert verdict(workflow("COMPLETED", {"value": 4}), {"value": 4}) == "correct"
    assert verdict(workflow("COMPLETED", {"value": 5}), {"value": 4}) == "wrong_output"
    assert verdict(workflow("COMPLETED", {"value": 4, "x": 1}), {"value": 4}) == "wrong_output"
    assert verdict(workflow("FAILED", {"value": 4}), {"value": 4}) == "wrong_output"
    assert verdict(workflow("TERMINATED"), {}) == "wrong_output"


def test_unfinished_is_stuck_past_the_sweep_bound_without_progress_and_lost_otherwise():
    idle = workflow(
        "RUNNING", at=NOW - BOUND - 1, tasks=[task("a", status="SCHEDULED", scheduledTime=NOW - BOUND - 5)]
    )
    moving = workflow(
        "RUNNING", at=NOW - BOUND - 1, tasks=[task("a", status="IN_PROGRESS", updateTime=NOW - 10)]
    )

    assert verdict(idle, {}) == "stuck"
    assert verdict(moving, {}) == "lost"
    assert verdict(None, {"value": 1}) == "lost"


def test_a_clean_history_with_retries_and_iterations_has_no_double_completion():
    tasks = [
        task("flaky", retry=0, status="FAILED", seq=1, name=workloads.FLAKY_TASK),
        task("flaky", retry=1, status="COMPLETED", seq=2, name=workloads.FLAKY_TASK),
        task("step__1", iteration=1, seq=3, name=workloads.ADD_TASK),
        task("step__2", iteration=2, seq=4, name=workloads.ADD_TASK),
    ]
    executed = {("flaky-0-0", 0): 1, ("flaky-1-0", 1): 2}  # a worker running an attempt twice is allowed

    assert (
        double_completions(workflow("COMPLETED", tasks=tasks), retries={"chaos_flaky": 3}, executed=executed)
        == []
    )


def test_the_engine_doing_a_step_twice_is_found():
    twice = [task("a", seq=1), {**task("a", seq=2), "taskId": "other"}]
    found = double_completions(workflow("COMPLETED", tasks=twice), retries={})
    assert any("two attempts of a" in f for f in found)
    assert any("a iteration 0 completed 2 times" in f for f in found)

    same_id = [task("a", retry=0, status="FAILED", seq=1), {**task("b", seq=2), "taskId": "a-0-0"}]
    assert any(
        "listed 2 times" in f for f in double_completions(workflow("FAILED", tasks=same_id), retries={})
    )

    same_seq = [task("a", seq=1), task("b", seq=1)]
    assert any(
        "seq 1 used 2 times" in f
        for f in double_completions(workflow("COMPLETED", tasks=same_seq), retries={})
    )


def test_more_attempts_than_the_retry_count_allows_is_found():
    attempts = [task("f", retry=n, status="FAILED", seq=n + 1, name="chaos_flaky") for n in range(3)]
    found = double_completions(workflow("FAILED", tasks=attempts), retries={"chaos_flaky": 1})
    assert found == ["f iteration 0: 3 attempts, 2 allowed"]


def test_a_task_a_worker_ran_that_the_workflow_does_not_list_is_found():
    found = double_completions(
        workflow("COMPLETED", tasks=[task("a")]), retries={}, executed={("a-0-0", 0): 1, ("ghost", 0): 1}
    )
    assert found == ["a worker ran task ghost, which the workflow does not list"]


def test_every_workload_expects_what_its_definition_computes_by_hand():
    by_kind = {w.kind: w for w in workloads.MIX}
    assert by_kind["simple"].expected({"value": 1}) == {"value": 4}
    assert by_kind["switch"].expected({"value": 2, "kind": "triple"}) == {"result": 6}
    assert by_kind["switch"].expected({"value": 2, "kind": "other"}) == {"result": 1}
    assert by_kind["do_while"].expected({"value": 10, "rounds": 3}) == {"iterations": 3, "sum": 36}
    fan = {"items": [{"value": 1, "delta": 0}, {"value": 5, "delta": 1}], "width": 2}
    assert by_kind["dynamic_fork"].expected(fan) == {"total": 7, "branches": 2}
    assert len(by_kind) == len(workloads.MIX) == 9
