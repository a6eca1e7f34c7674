"""Conductor's own test-harness workflows, registered and run through Baton's REST API on moto.

Every copied definition (``tests/fixtures/conductor``: the 63 that use only supported task types) must
register through ``PUT /api/metadata/workflow`` and read back intact. Most of them are then driven to their
end by a scripted worker (``tests.support.fixtures``). Expected values come from reading each definition
against Conductor's documented semantics, not from what the engine happened to produce.

Not driven: ``do_while_cleanup_demo`` and ``do_while_timeline_ui_demo`` (their INLINE scripts read
``$.<loopRef>``, which is not part of an INLINE task's input, and the timeline demo's jq uses single-quoted
strings, so neither can reach the end state the demos describe), and ``signal_sub_wf_parent`` (its child
needs WAIT).

One moto stack serves the whole module (provisioning costs about a second); each test registers what it
uses right before starting it, because several fixture files share a workflow name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.fixtures import FixtureDriver, Reply, done, failed, fixture_files, load, task_types
from tests.support.stack import Harness, moto_harness

SUPPORTED_TYPES = {
    "SIMPLE", "SWITCH", "DECISION", "FORK_JOIN", "JOIN", "FORK_JOIN_DYNAMIC", "DO_WHILE", "SUB_WORKFLOW",
    "TERMINATE", "SET_VARIABLE", "INLINE", "JSON_JQ_TRANSFORM", "EXCLUSIVE_JOIN", "START_WORKFLOW", "DYNAMIC",
    "NOOP", "LAMBDA",
}  # fmt: skip
PARAMS = {"param1": "p1 value", "param2": "p2 value"}
NO_RETRY = [
    {"name": name, "retryCount": 0, "responseTimeoutSeconds": 3600}
    for name in (
        "task_optional",
        "integration_task_1",
        "integration_task_2",
        "integration_task_0_RT_1",
        "simple_task_in_sub_wf",
    )
]


@pytest.fixture(scope="module")
def shared_harness() -> Iterator[Harness]:
    with pytest.MonkeyPatch.context() as patch, moto_harness(patch) as harness:
        yield harness


@pytest.fixture
def driver(shared_harness: Harness) -> Iterator[FixtureDriver]:
    driver = FixtureDriver(shared_harness)
    driver.register_task_defs(*NO_RETRY)
    yield driver
    driver.close()


def flow(execution: dict[str, Any]) -> list[tuple[str, str]]:
    """(ref, status) of every task, in ``seq`` order."""
    return [(task["referenceTaskName"], task["status"]) for task in execution["tasks"]]


def task(execution: dict[str, Any], ref: str) -> dict[str, Any]:
    """The latest attempt of a ref."""
    return [t for t in execution["tasks"] if t["referenceTaskName"] == ref][-1]


def completed(*refs: str) -> list[tuple[str, str]]:
    return [(ref, "COMPLETED") for ref in refs]


def op(*refs: str) -> dict[str, dict[str, str]]:
    """A JOIN's output when each joined task answered with the default reply."""
    return {ref: {"op": done(ref)} for ref in refs}


def fail_first_attempt(polled: dict[str, Any]) -> Reply:
    return failed("flaky") if polled["retryCount"] == 0 else Reply()


def echo_payload(polled: dict[str, Any]) -> Reply:
    return Reply(output={"payload": f"{polled['inputData']['payload']}>{polled['referenceTaskName']}"})


# -- registration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", fixture_files())
def test_every_supported_fixture_registers(shared_harness: Harness, file_name: str):
    definition = load(file_name)
    assert shared_harness.api("PUT", "/api/metadata/workflow", [definition]).status == 200

    response = shared_harness.api(
        "GET", f"/api/metadata/workflow/{definition['name']}?version={definition['version']}"
    )
    assert response.status == 200, response.text
    stored = response.json()
    assert (stored["name"], stored["version"]) == (definition["name"], definition["version"])
    assert [t["taskReferenceName"] for t in stored["tasks"]] == [
        t["taskReferenceName"] for t in definition["tasks"]
    ]


def test_the_copies_are_the_fixtures_that_use_only_supported_task_types():
    used = {name: task_types(load(name)["tasks"]) for name in fixture_files()}
    assert {name: types - SUPPORTED_TYPES for name, types in used.items() if types - SUPPORTED_TYPES} == {}
    assert len(used) == 63


# -- SIMPLE tasks, optional and permissive ------------------------------------------------------------


def test_simple_workflow_resolves_inputs_task_ids_and_outputs(driver: FixtureDriver):
    driver.register("simple_workflow_1_integration_test.json")
    wf = driver.run("integration_test_wf", PARAMS, {"t2": Reply(output={"uuid": "u-42"})})

    assert wf["status"] == "COMPLETED" and flow(wf) == completed("t1", "t2")
    t1, t2 = wf["tasks"]
    assert t1["inputData"] == {"p1": "p1 value", "p2": "p2 value", "p3": t1["taskId"], "someNullKey": None}
    assert t2["inputData"] == {"tp1": "p1 value", "tp2": "t1 done", "tp3": t2["taskId"]}
    assert wf["output"] == {"o1": "p1 value", "o2": "u-42", "o3": "t1 done"}


def test_workflow_input_template_fills_missing_keys(driver: FixtureDriver):
    driver.register("simple_workflow_1_input_template_integration_test.json")
    wf = driver.run("integration_test_template_wf", {"param2": ["mine"]})

    nested = {"nested_object": {"nested_key": "nested_value"}}
    assert wf["status"] == "COMPLETED" and flow(wf) == completed("t1")
    assert wf["input"] == {"param1": nested, "param2": ["mine"], "param3": "string"}
    assert wf["output"] == {"output": "t1 done", "param1": nested, "param2": ["mine"], "param3": "string"}


def test_three_tasks_without_output_parameters_end_with_the_last_tasks_output(driver: FixtureDriver):
    driver.register("simple_workflow_3_integration_test.json")
    wf = driver.run("integration_test_wf3", PARAMS)

    assert wf["status"] == "COMPLETED" and flow(wf) == completed("t1", "t2", "t3")
    assert task(wf, "t3")["inputData"] == {"tp1": "p1 value", "tp2": "t1 done"}
    assert wf["output"] == {"op": "t3 done"}


def test_a_failed_optional_task_completes_with_errors_and_the_flow_goes_on(driver: FixtureDriver):
    driver.register("simple_workflow_with_optional_task_integration_test.json")
    wf = driver.run(
        "optional_task_wf", PARAMS, {"t1": failed("optional broke"), "t2": Reply(output={"uuid": "u"})}
    )

    assert wf["status"] == "COMPLETED"
    assert flow(wf) == [("t1", "COMPLETED_WITH_ERRORS"), ("t2", "COMPLETED")]
    assert task(wf, "t2")["inputData"] == {"tp1": "p1 value", "tp2": None}
    assert wf["output"] == {"o1": "p1 value", "o2": "u", "o3": None}


def test_a_failed_permissive_task_fails_the_workflow_only_at_the_end(driver: FixtureDriver):
    driver.register("simple_workflow_with_permissive_optional_task_integration_test.json")
    wf = driver.run("permissive_optional_task_wf", PARAMS, {"t1": failed("first"), "t2": failed("second")})

    assert flow(wf) == [("t1", "COMPLETED_WITH_ERRORS"), ("t2", "FAILED")]
    assert wf["status"] == "FAILED"
    assert wf["reasonForIncompletion"] == (
        f"Task {task(wf, 't2')['taskId']} failed with status: FAILED and reason: 'second'"
    )
    assert wf["output"] == {"o1": "p1 value", "o2": None, "o3": None}


def test_permissive_tasks_use_their_inline_definitions_retry_count(driver: FixtureDriver):
    driver.register("simple_workflow_with_permissive_task_integration_test.json")
    wf = driver.run("permissive_task_wf", PARAMS, {"t1": fail_first_attempt, "t2": failed("t2 down")})

    assert flow(wf) == [("t1", "FAILED"), ("t1", "COMPLETED"), ("t2", "FAILED"), ("t2", "FAILED")]
    assert [t["retryCount"] for t in wf["tasks"]] == [0, 1, 0, 1]
    assert wf["status"] == "FAILED"
    assert wf["reasonForIncompletion"] == (
        f"Task {task(wf, 't2')['taskId']} failed with status: FAILED and reason: 't2 down'"
    )
    assert set(wf["failedReferenceTaskNames"]) == {"t1", "t2"}
    assert wf["output"] == {"o1": "p1 value", "o2": None, "o3": "t1 done"}


def test_a_response_timeout_retries_the_task(driver: FixtureDriver):
    driver.register_task_defs(
        {"name": "task_rt", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 10}
    )
    driver.register("simple_workflow_with_resp_time_out_integration_test.json")
    workflow_id = driver.start("RTOWF", PARAMS)
    harness = driver.harness
    [silent] = harness.api("GET", "/api/tasks/poll/batch/task_rt?count=1&workerid=silent").json()
    harness.clock.advance(10)
    harness.runtime.queues.wake_workflows([workflow_id], "timer")
    harness.pump()
    wf = driver.drive(workflow_id)

    assert wf["status"] == "COMPLETED"
    assert flow(wf) == [("t1", "TIMED_OUT"), ("t1", "COMPLETED"), ("t2", "COMPLETED")]
    assert wf["tasks"][0]["taskId"] == silent["taskId"]
    assert wf["tasks"][0]["reasonForIncompletion"] == (
        f"responseTimeout: 10 exceeded for the taskId: {silent['taskId']} with Task Definition: task_rt"
    )
    assert wf["output"] == {"o1": "p1 value", "o2": None, "o3": "t1 done"}


@pytest.mark.parametrize(
    ("file_name", "name", "ref"),
    [
        ("simple_one_task_sub_workflow_integration_test.json", "sub_workflow", "t1"),
        (
            "concurrency_limited_task_workflow_integration_test.json",
            "test_concurrency_limits_workflow",
            "test_task_with_concurrency_limit",
        ),
        (
            "rate_limited_simple_task_workflow_integration_test.json",
            "test_rate_limit_simple_task_workflow",
            "test_simple_task_with_rateLimits",
        ),
        ("terminate_task_sub_workflow.json", "test_terminate_task_sub_wf", "t3"),
    ],
)
def test_one_task_workflows_complete(driver: FixtureDriver, file_name: str, name: str, ref: str):
    driver.register(file_name)
    wf = driver.run(name, {})
    assert wf["status"] == "COMPLETED" and flow(wf) == completed(ref)
    assert wf["output"] == {"op": done(ref)}


# -- DECISION / SWITCH --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "case_output"),
    [
        ("conditional_task_workflow_integration_test.json", lambda case: {"caseOutput": [case]}),
        (
            "conditional_switch_task_workflow_integration_test.json",
            lambda case: {"evaluationResult": [case], "selectedCase": case},
        ),
    ],
)
def test_nested_conditions_pick_their_branches(
    driver: FixtureDriver, file_name: str, case_output: Callable[[str], dict[str, Any]]
):
    driver.register(file_name)
    nested = driver.run("ConditionalTaskWF", {"param1": "nested", "param2": "two", "finalCase": "notify"})
    three = driver.run("ConditionalTaskWF", {"param1": "three", "param2": "x"})
    other = driver.run("ConditionalTaskWF", {"param1": "anything"})

    assert nested["status"] == three["status"] == other["status"] == "COMPLETED"
    assert flow(nested) == completed(
        "conditional", "nestedCondition", "t2", "finalCase", "integration_task_4"
    )
    assert task(nested, "conditional")["outputData"] == case_output("nested")
    assert task(nested, "nestedCondition")["outputData"] == case_output("two")
    assert task(nested, "t2")["inputData"] == {"tp1": "nested"}
    assert flow(three) == completed("conditional", "t3", "finalCase")
    assert task(three, "t3")["inputData"] == {"tp3": "workflow.input.param2"}
    assert three["output"] == task(three, "finalCase")["outputData"] == case_output("null")
    assert flow(other) == completed("conditional", "t10", "finalCase")


@pytest.mark.parametrize(
    ("file_name", "name", "condition"),
    [
        ("simple_decision_task_integration_test.json", "DecisionWorkflow", "decisionTask"),
        ("simple_switch_task_integration_test.json", "SwitchWorkflow", "switchTask"),
    ],
)
def test_a_matched_case_and_the_default_case_rejoin_the_main_flow(
    driver: FixtureDriver, file_name: str, name: str, condition: str
):
    driver.register(file_name)
    matched = driver.run(name, {"case": "c", **PARAMS})
    default = driver.run(name, {"case": "z", **PARAMS})

    assert matched["status"] == default["status"] == "COMPLETED"
    assert flow(matched) == completed(condition, "t1", "t2", "t20")
    assert flow(default) == completed(condition, "t5", "t20")
    assert task(default, "t20")["inputData"] == {"p1": "p1 value", "p2": "p2 value"}
    assert default["output"] == {"op": "t20 done"}


def test_a_switch_without_default_case_skips_to_the_next_task(driver: FixtureDriver):
    driver.register("switch_with_no_default_case_integration_test.json")
    matched = driver.run("SwitchWithNoDefaultCaseWF", {"case": "c", **PARAMS})
    unmatched = driver.run("SwitchWithNoDefaultCaseWF", {"case": "nope", **PARAMS})

    assert flow(matched) == completed("switchTask", "t1", "t2")
    assert flow(unmatched) == completed("switchTask", "t2")
    assert task(unmatched, "switchTask")["outputData"] == {
        "evaluationResult": ["nope"],
        "selectedCase": "nope",
    }
    assert matched["status"] == unmatched["status"] == "COMPLETED"


@pytest.mark.parametrize(
    ("file_name", "condition"),
    [
        ("decision_and_fork_join_integration_test.json", "decisionTask"),
        ("switch_and_fork_join_integration_test.json", "switchTask"),
    ],
)
def test_a_condition_inside_a_fork_branch(driver: FixtureDriver, file_name: str, condition: str):
    driver.register(file_name)
    matched = driver.run("ForkConditionalTest", {"case": "c", **PARAMS})
    default = driver.run("ForkConditionalTest", {"case": "other", **PARAMS})

    assert matched["status"] == default["status"] == "COMPLETED"
    assert sorted(flow(matched)) == sorted(
        completed("forkTask", condition, "t1", "t2", "t20", "t10", "joinTask")
    )
    assert sorted(flow(default)) == sorted(completed("forkTask", condition, "t5", "t20", "t10", "joinTask"))
    assert task(matched, "joinTask")["outputData"] == op("t20", "t10")


@pytest.mark.parametrize(
    ("file_name", "condition"),
    [
        ("decision_and_terminate_integration_test.json", "decision"),
        ("switch_and_terminate_integration_test.json", "switch"),
    ],
)
def test_a_terminate_branch_fails_the_workflow_with_its_output(
    driver: FixtureDriver, file_name: str, condition: str
):
    driver.register(file_name)
    script = {"t1": Reply(output={"op": "task1 completed"})}
    terminated = driver.run("ConditionalTerminateWorkflow", {"case": "two", **PARAMS}, script)
    normal = driver.run("ConditionalTerminateWorkflow", {"case": "one", **PARAMS}, script)

    assert flow(terminated) == completed("t1", condition, "terminate0")
    assert terminated["status"] == "FAILED"
    assert terminated["output"] == {"output": "task1 completed"}
    assert terminated["reasonForIncompletion"] == (
        f"Workflow is FAILED by TERMINATE task: {task(terminated, 'terminate0')['taskId']}"
    )
    assert normal["status"] == "COMPLETED" and flow(normal) == completed("t1", condition, "t2", "t3")
    assert normal["output"] == {"o2": "t3 done"}


def test_exclusive_join_takes_the_output_of_the_branch_that_ran(driver: FixtureDriver):
    driver.register("exclusive_join_integration_test.json")
    script = {ref: echo_payload for ref in ("task1", "task2", "task3", "task4", "task5")}
    deep = driver.run(
        "ExclusiveJoinTestWorkflow", {"payload": "p", "decision_1": "true", "decision_2": "true"}, script
    )
    shallow = driver.run(
        "ExclusiveJoinTestWorkflow", {"payload": "p", "decision_1": "false", "decision_3": "false"}, script
    )

    assert flow(deep) == completed("task1", "decision1", "task2", "decision2", "task3", "exclusiveJoin")
    assert deep["output"] == {"payload": "p>task1>task2>task3"}
    assert task(deep, "exclusiveJoin")["inputData"] == {
        "joinOn": ["task3", "task5"],
        "defaultExclusiveJoinTask": ["task2", "task4", "task1"],
    }
    assert flow(shallow) == completed("task1", "decision1", "task4", "decision3", "exclusiveJoin")
    assert shallow["output"] == {"payload": "p>task1>task4"}
    assert deep["status"] == shallow["status"] == "COMPLETED"


# -- FORK_JOIN / JOIN / FORK_JOIN_DYNAMIC -------------------------------------------------------------


def test_fork_join_collects_the_joined_outputs_and_continues(driver: FixtureDriver):
    driver.register("fork_join_integration_test.json")
    wf = driver.run("FanInOutTest", PARAMS)

    assert wf["status"] == "COMPLETED"
    assert sorted(flow(wf)) == sorted(completed("fanouttask", "t1", "t2", "fanouttask_join", "t3", "t4"))
    assert task(wf, "t1")["inputData"] == {"p1": "workflow.input.param1", "p2": "workflow.input.param2"}
    assert task(wf, "fanouttask_join")["outputData"] == op("t3", "t2")
    assert wf["output"] == {"op": "t4 done"}


def test_a_failed_permissive_fork_task_fails_the_join(driver: FixtureDriver):
    driver.register("fork_join_permissive_integration_test.json")
    wf = driver.run("FanInOutPermissiveTest", PARAMS, {"t1": failed("branch one broke")})

    join = task(wf, "fanouttask_join")
    assert sorted(flow(wf)) == sorted(
        [("fanouttask", "COMPLETED"), ("t1", "FAILED"), ("t2", "COMPLETED"), ("fanouttask_join", "FAILED")]
    )
    assert join["reasonForIncompletion"] == "branch one broke"
    assert wf["status"] == "FAILED"
    assert wf["reasonForIncompletion"] == (
        f"Task {join['taskId']} failed with status: FAILED and reason: 'branch one broke'"
    )


def test_a_failed_fork_task_without_retries_fails_the_workflow_at_once(driver: FixtureDriver):
    driver.register("fork_join_with_no_task_retry_integration_test.json")
    wf = driver.run("FanInOutTest_2", PARAMS, {"t1": failed("no retry")})

    assert wf["status"] == "FAILED"
    assert wf["reasonForIncompletion"] == (
        f"Task {task(wf, 't1')['taskId']} failed with status: FAILED and reason: 'no retry'"
    )
    statuses = dict(flow(wf))
    assert statuses["t1"] == "FAILED" and statuses["fanouttask_join"] == "CANCELED"
    assert "t3" not in statuses and "t4" not in statuses


def test_a_permissive_failure_outside_the_join_list_fails_the_workflow_at_the_end(driver: FixtureDriver):
    driver.register("fork_join_with_no_permissive_task_retry_integration_test.json")
    wf = driver.run("FanInOutPermissiveTest_2", PARAMS, {"t1": failed("permissive broke")})

    assert sorted(flow(wf)) == sorted(
        [("fanouttask", "COMPLETED"), ("t1", "FAILED"), *completed("t2", "fanouttask_join", "t3", "t4")]
    )
    assert task(wf, "fanouttask_join")["outputData"] == op("t3", "t2")
    assert wf["status"] == "FAILED"
    assert wf["reasonForIncompletion"] == (
        f"Task {task(wf, 't1')['taskId']} failed with status: FAILED and reason: 'permissive broke'"
    )


def test_sync_join_outputs_feed_the_next_task_and_the_workflow_output(driver: FixtureDriver):
    driver.register("fork_join_sync_mode_integration_test.json")
    wf = driver.run("ForkJoinSyncModeTest", {"param1": "x"})

    assert wf["status"] == "COMPLETED"
    assert task(wf, "branch_b")["inputData"] == {"p1": "x"}
    assert task(wf, "joinTask")["outputData"] == op("branch_a", "branch_b", "branch_c")
    assert task(wf, "postJoinTask")["inputData"] == {
        "branchAResult": {"op": "branch_a done"},
        "branchBResult": {"op": "branch_b done"},
        "branchCResult": {"op": "branch_c done"},
    }
    assert wf["output"] == {
        "branchAOutput": {"op": "branch_a done"},
        "branchBOutput": {"op": "branch_b done"},
        "branchCOutput": {"op": "branch_c done"},
    }


def test_a_join_on_an_inner_join_nests_its_output(driver: FixtureDriver):
    driver.register("fork_join_sync_nested_integration_test.json")
    wf = driver.run("ForkJoinSyncNestedTest", {})

    assert wf["status"] == "COMPLETED"
    assert sorted(flow(wf)) == sorted(
        completed("outer_fork", "inner_fork", "inner_a", "inner_b", "inner_join", "outer_c", "outer_join")
        + completed("postJoinTask")
    )
    assert task(wf, "outer_join")["outputData"] == {
        "inner_join": op("inner_a", "inner_b"),
        "outer_c": {"op": "outer_c done"},
    }


def test_a_failed_optional_branch_completes_the_join_with_errors(driver: FixtureDriver):
    driver.register("fork_join_sync_optional_fail_integration_test.json")
    wf = driver.run("ForkJoinSyncOptionalFailTest", {}, {"branch_optional": failed("optional branch")})

    statuses = dict(flow(wf))
    assert statuses["branch_optional"] == "COMPLETED_WITH_ERRORS"
    assert statuses["joinTask"] == "COMPLETED_WITH_ERRORS"
    assert statuses["postJoinTask"] == "COMPLETED"
    assert task(wf, "joinTask")["outputData"] == op("branch_required")
    assert wf["status"] == "COMPLETED"


def test_nested_forks_with_a_decision_branch(driver: FixtureDriver):
    driver.register("nested_fork_join_integration_test.json")
    wf = driver.run("FanInOutNestedTest", {"case": "a", **PARAMS})

    assert wf["status"] == "COMPLETED"
    assert sorted(flow(wf)) == sorted(
        completed("fork1", "t11", "fork2", "t12", "t14", "t13", "d1", "t16", "t19", "t20", "join2", "join1")
        + completed("t15")
    )
    assert task(wf, "join1")["outputData"] == {"t11": {"op": "t11 done"}, "join2": op("t14", "t20")}
    assert task(wf, "t16")["inputData"] == {**{"p1": "p1 value", "p2": "p2 value"}, "case": "a"}


def test_nested_forks_with_a_sub_workflow_branch(driver: FixtureDriver):
    driver.register(
        "simple_workflow_1_integration_test.json", "nested_fork_join_with_sub_workflow_integration_test.json"
    )
    wf = driver.run("FanInOutNestedSubWorkflowTest", {"case": "a", **PARAMS})

    assert wf["status"] == "COMPLETED"
    sub = task(wf, "sw1")
    child = driver.execution(sub["subWorkflowId"])
    assert child["workflowName"] == "integration_test_wf" and child["status"] == "COMPLETED"
    assert child["parentWorkflowId"] == wf["workflowId"]
    assert child["input"]["subWorkflowName"] == "integration_test_wf"
    assert child["output"] == {"o1": None, "o2": None, "o3": "t1 done"}
    join1 = task(wf, "join1")["outputData"]
    assert join1["sw1"] == {**child["output"], "subWorkflowId": child["workflowId"]}
    assert join1["join2"] == op("t14", "t20")
    assert task(wf, "t15")["status"] == "COMPLETED"


def test_dynamic_fork_runs_the_tasks_a_worker_asked_for(driver: FixtureDriver):
    driver.register("dynamic_fork_join_integration_test.json")
    plan = {
        "dynamicTasks": [
            {"name": "integration_task_2", "taskReferenceName": "xdt1"},
            {"name": "integration_task_3", "taskReferenceName": "xdt2"},
        ],
        "dynamicTasksInput": {"xdt1": {"k1": "v1"}, "xdt2": {"k2": "v2"}},
    }
    wf = driver.run("DynamicFanInOutTest", PARAMS, {"dt1": Reply(output=plan)})

    assert wf["status"] == "COMPLETED"
    assert sorted(flow(wf)) == sorted(
        completed("dt1", "dynamicfanouttask", "xdt1", "xdt2", "dynamicfanouttask_join", "task4")
    )
    assert task(wf, "dynamicfanouttask")["inputData"]["forkedTasks"] == ["xdt1", "xdt2"]
    assert (task(wf, "xdt1")["taskType"], task(wf, "xdt1")["inputData"]) == (
        "integration_task_2",
        {"k1": "v1"},
    )
    assert (task(wf, "xdt2")["taskType"], task(wf, "xdt2")["inputData"]) == (
        "integration_task_3",
        {"k2": "v2"},
    )
    join = task(wf, "dynamicfanouttask_join")
    assert join["inputData"]["joinOn"] == ["xdt1", "xdt2"]
    assert join["outputData"] == op("xdt1", "xdt2")
    assert wf["output"] == {"op": "task4 done"}


# -- DO_WHILE -----------------------------------------------------------------------------------------


def test_a_loop_with_a_fork_runs_each_iteration_with_suffixed_refs(driver: FixtureDriver):
    driver.register("do_while_integration_test.json")
    wf = driver.run("Do_While_Workflow", {"loop": 2})

    body = ("integration_task_0", "fork", "integration_task_1", "integration_task_2", "join")
    assert wf["status"] == "COMPLETED"
    assert sorted(flow(wf)) == sorted(completed("loopTask", *(f"{ref}__{n}" for n in (1, 2) for ref in body)))
    assert all(t["iteration"] == int(t["referenceTaskName"][-1]) for t in wf["tasks"][1:])
    loop = task(wf, "loopTask")
    assert loop["outputData"]["iteration"] == 2
    assert set(loop["outputData"]["2"]) == set(body)
    assert loop["outputData"]["2"]["integration_task_0"] == {"op": "integration_task_0 done"}
    assert loop["outputData"]["2"]["join"] == task(wf, "join__2")["outputData"]
    assert task(wf, "join__2")["outputData"] == op("integration_task_1__2", "integration_task_2__2")


def test_two_loops_in_sequence(driver: FixtureDriver):
    driver.register("do_while_multiple_integration_test.json")
    wf = driver.run("Do_While_Multiple", {"loop": 1, "loop2": 3})

    assert wf["status"] == "COMPLETED"
    assert task(wf, "loopTask")["outputData"]["iteration"] == 1
    assert task(wf, "loopTask2")["outputData"]["iteration"] == 3
    assert [ref for ref, _ in flow(wf) if ref.startswith("integration_task_3")] == [
        "integration_task_3__1",
        "integration_task_3__2",
        "integration_task_3__3",
    ]
    assert len(wf["tasks"]) == 1 + 5 + 1 + 3


def test_a_loop_inside_a_fork_branch(driver: FixtureDriver):
    driver.register("do_while_as_subtask_integration_test.json")
    wf = driver.run("Do_While_SubTask", {"loop": 2})

    assert wf["status"] == "COMPLETED"
    assert sorted(flow(wf)) == sorted(
        completed("fork", "loopTask", "integration_task_2", "join")
        + completed(*(f"{ref}__{n}" for n in (1, 2) for ref in ("integration_task_0", "integration_task_1")))
    )
    join = task(wf, "join")["outputData"]
    assert join["integration_task_2"] == {"op": "integration_task_2 done"}
    assert join["loopTask"]["iteration"] == 2
    assert join["loopTask"]["1"] == op("integration_task_0", "integration_task_1")


def test_a_loop_with_a_sub_workflow_starts_one_child_per_iteration(driver: FixtureDriver):
    driver.register(
        "simple_one_task_sub_workflow_integration_test.json", "do_while_sub_workflow_integration_test.json"
    )
    wf = driver.run("Do_While_Sub_Workflow", {"loop": 2})

    assert wf["status"] == "COMPLETED"
    children = [task(wf, f"st1__{n}")["subWorkflowId"] for n in (1, 2)]
    assert len(set(children)) == 2
    for n, child_id in enumerate(children, start=1):
        assert task(wf, f"st1__{n}")["outputData"] == {"op": "t1 done", "subWorkflowId": child_id}
        assert driver.execution(child_id)["status"] == "COMPLETED"
    assert task(wf, "loopTask")["outputData"]["2"]["st1"]["op"] == "t1 done"


def test_lambda_and_jq_in_a_loop_body_with_workers_between_them(driver: FixtureDriver):
    driver.register("do_while_five_loop_over_integration_test.json")
    wf = driver.run("do_while_five_loop_over_integration_test", {"loop": 2})

    body = (
        "lambda_locs",
        "jq_add_location",
        "integration_task_1",
        "jq_create_hydrus_input",
        "integration_task_2",
    )
    assert wf["status"] == "COMPLETED"
    assert flow(wf) == completed(
        "loopTask", *(f"{ref}__{n}" for n in (1, 2) for ref in body), "integration_task_3"
    )
    location = {"out": {"locationId": "some location id"}}
    assert task(wf, "lambda_locs__2")["outputData"] == {"result": {"locationRanId": "some location id"}}
    assert task(wf, "jq_add_location__2")["outputData"] == {"result": location, "resultList": [location]}
    assert task(wf, "jq_create_hydrus_input__1")["inputData"]["locationIdValue"] == "some location id"


def test_a_loop_of_system_tasks_runs_without_workers(driver: FixtureDriver):
    driver.register("do_while_system_tasks.json")
    workflow_id = driver.start("do_while_system_tasks", {"loop": 3})
    running = driver.execution(workflow_id)
    wf = driver.drive(workflow_id)

    body = ("lambda_locs", "jq_add_location", "jq_create_hydrus_input")
    assert [ref for ref, _ in flow(running)][-1] == "integration_task_1"
    assert wf["status"] == "COMPLETED"
    assert flow(wf) == completed(
        "loopTask", *(f"{ref}__{n}" for n in (1, 2, 3) for ref in body), "integration_task_1"
    )
    assert task(wf, "loopTask")["outputData"]["iteration"] == 3


def test_a_long_loop_of_lambdas(driver: FixtureDriver):
    driver.register("do_while_high_iteration_test.json")
    wf = driver.run("do_while_high_iteration_test", {"loop": 40})

    assert wf["status"] == "COMPLETED"
    assert flow(wf) == completed("loopTask", *(f"lambda_task__{n}" for n in range(1, 41)))
    assert task(wf, "lambda_task__40")["outputData"] == {"result": {}}
    assert task(wf, "loopTask")["outputData"]["iteration"] == 40
    assert task(wf, "loopTask")["iteration"] == 40  # the loop task's own field counts too (REFERENCE 4.7)


def test_a_loop_body_reads_the_current_iteration(driver: FixtureDriver):
    driver.register("do_while_iteration_fix_test.json")
    wf = driver.run("Do_While_Workflow_Iteration_Fix", {"loop": 3})

    assert wf["status"] == "COMPLETED"
    assert flow(wf) == completed("loopTask", "form_uri__1", "form_uri__2", "form_uri__3")
    # ``index`` is ``${loopTask['iteration']}``: the loop task's iteration field, read in each iteration
    assert [t["inputData"]["index"] for t in wf["tasks"][1:]] == [1, 2, 3]
    assert [t["outputData"]["result"] for t in wf["tasks"][1:]] == [0, 1, 2]


def test_a_loop_condition_reads_a_variable_set_in_the_body(driver: FixtureDriver):
    driver.register("do_while_set_variable_fix.json")
    wf = driver.run("do_while_Set_variable_fix", {"value": 2})

    assert wf["status"] == "COMPLETED"
    assert flow(wf) == completed("loopTask", "set_variable__1")
    assert task(wf, "set_variable__1")["inputData"] == {"value": "0"}
    assert wf["variables"] == {"value": "0"}
    assert task(wf, "loopTask")["outputData"]["iteration"] == 1


def test_terminate_inside_a_loop_ends_the_workflow(driver: FixtureDriver):
    driver.register("terminate_task_terminated_status_in_do_while_test.json")
    wf = driver.run("test_terminate_task_terminated_in_do_while", {})

    assert wf["status"] == "TERMINATED"
    assert wf["reasonForIncompletion"] == "Workflow terminated by TERMINATE task in DO_WHILE loop"
    assert flow(wf) == [("do_while_ref", "CANCELED"), *completed("lambda_ref__1", "terminate_ref__1")]
    # a LAMBDA body is wrapped in a function: ``e();`` without ``return`` yields null
    assert task(wf, "lambda_ref__1")["outputData"] == {"result": None}
    assert wf["output"] == {}


# -- SUB_WORKFLOW / START_WORKFLOW --------------------------------------------------------------------


def test_an_inline_sub_workflow_definition_runs_as_a_child(driver: FixtureDriver):
    driver.register("simple_workflow_with_sub_workflow_inline_def_integration_test.json")
    script = {"t1": Reply(output={"op": "op-1", "imageType": "png"}), "t3": Reply(output={"op": "child op"})}
    wf = driver.run("WorkflowWithInlineSubWorkflow", PARAMS, script)

    assert wf["status"] == "COMPLETED" and flow(wf) == completed("t1", "swt", "t2")
    child = driver.execution(task(wf, "swt")["subWorkflowId"])
    assert (child["workflowName"], child["status"]) == ("one_task_workflow", "COMPLETED")
    assert child["input"]["imageType"] == "png" and child["input"]["op"] == "op-1"
    assert task(child, "t3")["inputData"] == {"p1": "png"}
    assert task(wf, "swt")["outputData"] == {"op": "child op", "subWorkflowId": child["workflowId"]}
    assert task(wf, "t2")["inputData"] == {"op": "op-1"}
    assert wf["output"] == {"o3": "op-1"}


def test_a_sub_workflow_named_by_an_expression(driver: FixtureDriver):
    driver.register(
        "simple_one_task_sub_workflow_integration_test.json",
        "workflow_with_sub_workflow_1_integration_test.json",
    )
    by_type = {"t1": lambda polled: Reply(output={"op": f"{polled['taskType']} done"})}
    wf = driver.run(
        "integration_test_wf_with_sub_wf", {**PARAMS, "subwf": "sub_workflow", "nextSubwf": "next"}, by_type
    )

    assert wf["status"] == "COMPLETED" and flow(wf) == completed("t1", "t2")
    child = driver.execution(task(wf, "t2")["subWorkflowId"])
    assert child["workflowName"] == "sub_workflow"
    assert child["input"] == {"param1": "p1 value", "param2": "p2 value", "subwf": "next"}
    assert wf["output"] == {"op": "simple_task_in_sub_wf done", "subWorkflowId": child["workflowId"]}


def test_a_sub_workflow_in_a_fork_branch(driver: FixtureDriver):
    driver.register("simple_one_task_sub_workflow_integration_test.json", "fork_join_sub_workflow.json")
    wf = driver.run("integration_test_fork_join_sw", PARAMS)

    assert wf["status"] == "COMPLETED"
    child_id = task(wf, "st1")["subWorkflowId"]
    assert task(wf, "fanouttask_join")["outputData"] == {
        "st1": {"op": "t1 done", "subWorkflowId": child_id},
        "t2": {"op": "t2 done"},
    }


def test_failed_optional_sub_workflows_complete_the_join_with_errors(driver: FixtureDriver):
    driver.register(
        "simple_one_task_sub_workflow_integration_test.json",
        "fork_join_with_optional_sub_workflow_forks_integration_test.json",
    )
    wf = driver.run("integration_test_fork_join_optional_sw", PARAMS, {"t1": failed("child broke")})

    statuses = dict(flow(wf))
    assert statuses["st1"] == statuses["st2"] == "COMPLETED_WITH_ERRORS"
    assert statuses["fanouttask_join"] == "COMPLETED_WITH_ERRORS"
    assert driver.execution(task(wf, "st1")["subWorkflowId"])["status"] == "FAILED"
    assert wf["status"] == "COMPLETED"


def test_failed_permissive_sub_workflows_fail_the_join(driver: FixtureDriver):
    driver.register(
        "simple_one_task_sub_workflow_integration_test.json",
        "fork_join_with_permissive_sub_workflow_forks_integration_test.json",
    )
    wf = driver.run("integration_test_fork_join_permissive_sw", PARAMS, {"t1": failed("child broke")})

    statuses = dict(flow(wf))
    assert statuses["st1"] == statuses["st2"] == statuses["fanouttask_join"] == "FAILED"
    st1 = task(wf, "st1")
    assert st1["reasonForIncompletion"].startswith(
        f"Sub workflow sub_workflow.1/{st1['subWorkflowId']} failure reason:"
    )
    join = task(wf, "fanouttask_join")
    assert (
        join["reasonForIncompletion"]
        == f"{st1['reasonForIncompletion']} {task(wf, 'st2')['reasonForIncompletion']}"
    )
    assert wf["status"] == "FAILED"
    assert wf["reasonForIncompletion"].startswith(f"Task {join['taskId']} failed with status: FAILED")


def test_a_workflow_that_starts_itself_as_a_sub_workflow(driver: FixtureDriver):
    driver.register("simple_one_task_sub_workflow_integration_test.json", "hierarchical_fork_join_swf.json")
    wf = driver.run(
        "hierarchical_fork_join_swf",
        {**PARAMS, "subwf": "hierarchical_fork_join_swf", "nextSubwf": "sub_workflow"},
    )

    assert wf["status"] == "COMPLETED"
    child = driver.execution(task(wf, "st1")["subWorkflowId"])
    grandchild = driver.execution(task(child, "st1")["subWorkflowId"])
    assert (child["workflowName"], grandchild["workflowName"]) == (
        "hierarchical_fork_join_swf",
        "sub_workflow",
    )
    assert child["input"] == {"param1": "p1 value", "param2": "p2 value", "subwf": "sub_workflow"}
    assert child["output"] == {
        "st1": {"op": "t1 done", "subWorkflowId": grandchild["workflowId"]},
        "t2": {"op": "t2 done"},
    }
    assert task(wf, "fanouttask_join")["outputData"]["st1"] == {
        **child["output"],
        "subWorkflowId": child["workflowId"],
    }


def test_a_sub_workflow_in_a_nested_fork(driver: FixtureDriver):
    driver.register("simple_one_task_sub_workflow_integration_test.json", "nested_fork_join_swf.json")
    wf = driver.run("nested_fork_join_swf", {**PARAMS, "subwf": "sub_workflow"})

    assert wf["status"] == "COMPLETED"
    child_id = task(wf, "st1")["subWorkflowId"]
    assert task(wf, "outer_join")["outputData"] == {
        "inner_join": {"st1": {"op": "t1 done", "subWorkflowId": child_id}, "t2": {"op": "t2 done"}},
        "t3": {"op": "t3 done"},
    }


def test_start_workflow_launches_an_independent_workflow(driver: FixtureDriver):
    driver.register(
        "simple_lambda_workflow_integration_test.json", "workflow_that_starts_another_workflow.json"
    )
    request = {"name": "test_lambda_wf", "version": 1, "input": {"a": 1}}
    wf = driver.run("workflow_that_starts_another_workflow", {"startWorkflow": request})

    assert wf["status"] == "COMPLETED" and flow(wf) == completed("st")
    started = driver.execution(task(wf, "st")["outputData"]["workflowId"])
    assert wf["output"] == {"workflowId": started["workflowId"]}
    assert (started["workflowName"], started["status"], started["input"]) == (
        "test_lambda_wf",
        "COMPLETED",
        {"a": 1},
    )
    assert "parentWorkflowId" not in started
    assert started["output"] == {"result": {"testvalue": True}}


# -- TERMINATE, LAMBDA and failure workflows ----------------------------------------------------------


def test_terminate_completed_replaces_the_output_parameters(driver: FixtureDriver):
    driver.register("terminate_task_completed_workflow_integration_test.json")
    yes = driver.run("test_terminate_task_wf", {"a": 1})
    no = driver.run("test_terminate_task_wf", {"a": 2})

    assert yes["status"] == no["status"] == "COMPLETED"
    assert flow(yes) == completed("lambda0", "terminate0")
    assert yes["output"] == {"result": {"testvalue": True}}
    assert no["output"] == {"result": {"testvalue": False}}
    assert yes["reasonForIncompletion"] == (
        f"Workflow is COMPLETED by TERMINATE task: {task(yes, 'terminate0')['taskId']}"
    )


def test_terminate_failed_starts_the_failure_workflow(driver: FixtureDriver):
    driver.register(
        "failure_workflow_for_terminate_task_workflow.json", "terminate_task_failed_workflow_integration.json"
    )
    wf = driver.run("test_terminate_task_failed_wf", {"a": 1})

    assert wf["status"] == "FAILED" and flow(wf) == completed("lambda0", "terminate0")
    assert wf["reasonForIncompletion"] == "Early exit in terminate"
    failure = driver.execution(wf["output"]["conductor.failure_workflow"])
    assert wf["output"] == {
        "result": {"testvalue": True},
        "conductor.failure_workflow": failure["workflowId"],
    }
    assert (failure["workflowName"], failure["status"]) == ("failure_workflow", "COMPLETED")
    assert failure["input"]["workflowId"] == wf["workflowId"]
    assert failure["input"]["reason"] == "Early exit in terminate"
    assert failure["input"]["failureStatus"] == "FAILED"
    assert task(failure, "lambda0")["outputData"] == {"result": {"testvalue": True}}


def test_terminate_terminated_skips_the_rest(driver: FixtureDriver):
    driver.register("terminate_task_terminated_status_test.json")
    wf = driver.run("test_terminate_task_terminated", {})

    assert wf["status"] == "TERMINATED" and flow(wf) == completed("lambda0", "terminate0")
    assert wf["reasonForIncompletion"] == "Early exit with TERMINATED status"
    assert wf["output"] == {"result": None}


def test_a_failing_child_fails_its_parent_and_starts_the_parents_failure_workflow(driver: FixtureDriver):
    driver.register(
        "failure_workflow_for_terminate_task_workflow.json",
        "test_task_failed_sub_workflow.json",
        "test_task_failed_parent_workflow.json",
    )
    wf = driver.run("test_task_failed_parent_wf", {"lambdaValue": 1})

    assert flow(wf) == [("lambdaTask1", "COMPLETED"), ("test_task_failed_sub_wf", "FAILED")]
    assert task(wf, "lambdaTask1")["outputData"] == {
        "result": {"testvalue": "Lambda value was 1", "iValue": 10}
    }
    sub = task(wf, "test_task_failed_sub_wf")
    child = driver.execution(sub["subWorkflowId"])
    assert child["status"] == "FAILED" and flow(child) == completed("lambda0", "terminate0")
    assert child["output"] == {"result": {"testvalue": False}}
    assert child["reasonForIncompletion"] == (
        f"Workflow is FAILED by TERMINATE task: {task(child, 'terminate0')['taskId']}"
    )
    assert sub["reasonForIncompletion"] == (
        f"Sub workflow test_task_failed_sub_wf.1/{child['workflowId']} failure reason: "
        f"{child['reasonForIncompletion']}"
    )
    assert wf["status"] == "FAILED"
    assert wf["reasonForIncompletion"] == (
        f"Task {sub['taskId']} failed with status: FAILED and reason: '{sub['reasonForIncompletion']}'"
    )
    failure = driver.execution(wf["output"]["conductor.failure_workflow"])
    assert failure["status"] == "COMPLETED" and failure["input"]["workflowId"] == wf["workflowId"]


def test_lambda_reads_the_workflow_input(driver: FixtureDriver):
    driver.register("simple_lambda_workflow_integration_test.json")
    yes = driver.run("test_lambda_wf", {"a": 1})
    no = driver.run("test_lambda_wf", {"a": 2})

    assert yes["status"] == no["status"] == "COMPLETED" and flow(yes) == completed("lambda0")
    assert task(yes, "lambda0")["outputData"] == {"result": {"testvalue": True}}
    assert task(no, "lambda0")["outputData"] == {"result": {"testvalue": False}}


# -- JSON_JQ_TRANSFORM and SET_VARIABLE ---------------------------------------------------------------


def test_jq_concatenates_two_input_arrays(driver: FixtureDriver):
    driver.register("simple_json_jq_transform_integration_test.json")
    wf = driver.run("test_json_jq_transform_wf", {"in1": {"array": ["a", "b"]}, "in2": {"array": ["c", "d"]}})

    result = {"out": ["a", "b", "c", "d"]}
    assert wf["status"] == "COMPLETED"
    assert wf["output"] == task(wf, "jq_1")["outputData"] == {"result": result, "resultList": [result]}


def test_a_jq_program_produced_by_an_earlier_jq_task(driver: FixtureDriver):
    driver.register("sequential_json_jq_transform_integration_test.json")
    defaults = driver.run("sequential_json_jq_transform_wf", {"body": {"greeting": "hi"}})
    custom = driver.run(
        "sequential_json_jq_transform_wf",
        {"body": {"greeting": "hi"}, "requestTransform": ".body.greeting", "method": "POST"},
    )

    assert defaults["status"] == custom["status"] == "COMPLETED"
    assert task(defaults, "default_variables")["outputData"]["result"] == {
        "requestTransform": ".body",
        "responseTransform": ".response.body",
        "method": "GET",
        "document": "rgt_results",
        "successExpression": "true",
    }
    assert task(defaults, "request_transform")["outputData"]["result"] == {"greeting": "hi"}
    assert task(custom, "default_variables")["outputData"]["result"]["method"] == "POST"
    assert task(custom, "request_transform")["outputData"]["result"] == "hi"


def test_jq_after_a_worker_task(driver: FixtureDriver):
    driver.register("workflow_with_synchronous_system_task.json")
    sample = {"TEST_SAMPLE": [{"id": 1}, {"id": 2}, {"id": 3}]}
    wf = driver.run(
        "workflow_with_synchronous_system_task", {"param1": "x"}, {"t1": Reply(output={"op": sample})}
    )

    assert wf["status"] == "COMPLETED" and flow(wf) == completed("t1", "jsonjq")
    assert task(wf, "jsonjq")["outputData"] == {"result": 3, "resultList": [3]}
    assert wf["output"] == {"data": None}


def test_set_variable_writes_workflow_variables(driver: FixtureDriver):
    driver.register("simple_set_variable_workflow_integration_test.json")
    wf = driver.run("test_set_variable_wf", {"var": "hello"})

    assert wf["status"] == "COMPLETED" and flow(wf) == completed("set_variable_1")
    assert wf["variables"] == {"var": "hello"}
    assert wf["output"] == {"variables": {"var": "hello"}}
