"""Every operator over HTTP on a real local stack, in a few realistic workflows.

Each test registers definitions under a unique prefix (the stack is shared by the session), drives the
workflow with REST workers or the SQS-native SDK worker, waits (bounded) for a terminal status and checks
what a user sees in ``GET /api/workflow/{id}``. The failure tests check that a broken workflow ends with a
reason instead of hanging; the last ones that definitions which could never run are refused.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from batonflow.emulator.stack import BatonStack
from batonflow.sdk import Worker, WorkerSettings
from tests.e2e.helpers import (
    HTTP_TIMEOUT_S,
    RestWorkers,
    by_ref,
    get_workflow,
    inline,
    jq,
    register,
    run,
    set_variable,
    start,
    task,
    unique,
    wait_for_terminal,
)

pytestmark = pytest.mark.e2e

# --- 1. an order: INLINE, LAMBDA, SET_VARIABLE, SWITCH, FORK_JOIN/JOIN, DECISION, JSON_JQ, NOOP ---------

ORDER_TOTAL = (
    "(function () { var sum = 0;"
    " for (var i = 0; i < $.items.length; i++) { sum += $.items[i].price * $.items[i].qty; }"
    " return sum; })()"
)
ORDER_SUMMARY = (
    "{customer: .customer, lines: (.items | length), due: (.total - .discount), skus: [.items[].sku]}"
)


def order_workflow(prefix: str) -> dict:
    total, discount = "${total.output.result}", "${discount.output.result}"
    pack = task("pack", name=f"{prefix}_pack", inputParameters={"items": "${workflow.input.items}"})
    invoice_input = {"customer": "${workflow.input.customer}", "amount": total}
    invoice = task("invoice", name=f"{prefix}_invoice", inputParameters=invoice_input)
    large = [
        task("ship", "FORK_JOIN", forkTasks=[[pack], [invoice]]),
        task("ship_join", "JOIN", joinOn=["pack", "invoice"]),
    ]
    speed = task(
        "speed",
        "DECISION",
        caseValueParam="express",
        inputParameters={"express": "${workflow.input.express}"},
        decisionCases={"true": [set_variable("express", delivery="express")]},
        defaultCase=[set_variable("standard", delivery="standard")],
    )
    return {
        "name": f"{prefix}_order",
        "version": 1,
        "tasks": [
            inline("total", ORDER_TOTAL, items="${workflow.input.items}"),
            task(
                "discount",
                "LAMBDA",
                inputParameters={"total": total, "scriptExpression": "return $.total >= 100 ? 10 : 0;"},
            ),
            set_variable("record", total=total, discount=discount),
            task(
                "route",
                "SWITCH",
                evaluatorType="javascript",
                expression="$.total >= 100 ? 'large' : 'small'",
                inputParameters={"total": total},
                decisionCases={"large": large, "small": [speed]},
            ),
            jq(
                "summary",
                ORDER_SUMMARY,
                customer="${workflow.input.customer}",
                items="${workflow.input.items}",
                total=total,
                discount=discount,
            ),
            task("done", "NOOP"),
        ],
        "outputParameters": {
            "total": "${workflow.variables.total}",
            "discount": "${workflow.variables.discount}",
            "delivery": "${workflow.variables.delivery}",
            "route": "${route.output.selectedCase}",
            "shipped": "${ship_join.output}",
            "summary": "${summary.output.result}",
        },
    }


def test_order_workflow_takes_both_switch_paths(api: str):
    prefix = unique("order")
    register(api, order_workflow(prefix))
    large_items = [{"sku": "A", "price": 40, "qty": 2}, {"sku": "B", "price": 25, "qty": 1}]
    small_items = [{"sku": "C", "price": 5, "qty": 3}]

    def invoice(polled: dict) -> dict:
        return {"invoice": f"INV-{polled['inputData']['customer']}-{polled['inputData']['amount']}"}

    handlers = {
        f"{prefix}_pack": lambda polled: {"parcels": len(polled["inputData"]["items"])},
        f"{prefix}_invoice": invoice,
    }
    with RestWorkers(api, handlers):
        large_id = start(api, f"{prefix}_order", {"customer": "ada", "items": large_items})
        small_id = start(api, f"{prefix}_order", {"customer": "bob", "items": small_items, "express": True})
        large, small = wait_for_terminal(api, large_id), wait_for_terminal(api, small_id)

    assert large["status"] == "COMPLETED", large.get("reasonForIncompletion")
    assert large["output"] == {
        "total": 105,
        "discount": 10,
        "delivery": None,
        "route": "large",
        "shipped": {"pack": {"parcels": 2}, "invoice": {"invoice": "INV-ada-105"}},
        "summary": {"customer": "ada", "lines": 2, "due": 95, "skus": ["A", "B"]},
    }
    assert large["variables"] == {"total": 105, "discount": 10}
    tasks = by_ref(large)
    shipping = {"ship", "pack", "invoice", "ship_join"}
    assert set(tasks) == {"total", "discount", "record", "route", "summary", "done"} | shipping
    assert tasks["route"]["outputData"] == {"evaluationResult": ["large"], "selectedCase": "large"}
    assert (tasks["ship"]["taskType"], tasks["ship"]["status"]) == ("FORK", "COMPLETED")
    assert tasks["ship_join"]["inputData"]["joinOn"] == ["pack", "invoice"]
    assert all(t["status"] == "COMPLETED" for t in large["tasks"])

    assert small["status"] == "COMPLETED", small.get("reasonForIncompletion")
    assert small["output"] == {
        "total": 15,
        "discount": 0,
        "delivery": "express",
        "route": "small",
        "shipped": None,
        "summary": {"customer": "bob", "lines": 1, "due": 15, "skus": ["C"]},
    }
    tasks = by_ref(small)
    assert set(tasks) == {"total", "discount", "record", "route", "summary", "done"} | {"speed", "express"}
    assert tasks["speed"]["outputData"] == {"caseOutput": ["true"]}
    assert tasks["done"]["taskType"] == "NOOP" and tasks["done"]["outputData"] == {}


# --- 2. DO_WHILE with a worker body ------------------------------------------------------------------


def loop_workflow(prefix: str) -> dict:
    step_input = {"round": "${loop.output.iteration}", "base": "${workflow.input.base}"}
    body = [
        task("step", name=f"{prefix}_step", inputParameters=step_input),
        inline("double", "$.value * 2", value="${step.output.value}"),
    ]
    loop = task(
        "loop",
        "DO_WHILE",
        loopCondition="$.loop['iteration'] < $.max && !$.step['done']",
        inputParameters={"max": "${workflow.input.max}"},
        loopOver=body,
    )
    rounds = '[.rounds | to_entries[] | select(.key != "iteration") | .value.double.result] | add'
    return {
        "name": f"{prefix}_loop",
        "version": 1,
        "tasks": [loop, jq("sum", rounds, rounds="${loop.output}")],
        "outputParameters": {
            "iterations": "${loop.output.iteration}",
            "sum": "${sum.output.result}",
            "secondValue": "${loop.output['2'].step.value}",
        },
    }


def test_do_while_iterates_until_the_worker_is_done_or_the_limit(api: str):
    prefix = unique("loop")
    register(api, loop_workflow(prefix))

    def step(polled: dict) -> dict:
        inputs = polled["inputData"]
        return {"value": inputs["base"] + inputs["round"], "done": inputs["round"] >= 3}

    with RestWorkers(api, {f"{prefix}_step": step}):
        until_done_id = start(api, f"{prefix}_loop", {"base": 10, "max": 5})
        capped_id = start(api, f"{prefix}_loop", {"base": 10, "max": 2})
        until_done, capped = wait_for_terminal(api, until_done_id), wait_for_terminal(api, capped_id)

    assert until_done["status"] == "COMPLETED", until_done.get("reasonForIncompletion")
    assert until_done["output"] == {"iterations": 3, "sum": 22 + 24 + 26, "secondValue": 12}
    loop = by_ref(until_done)["loop"]
    assert loop["status"] == "COMPLETED"
    assert loop["outputData"] == {
        "iteration": 3,
        "1": {"step": {"value": 11, "done": False}, "double": {"result": 22}},
        "2": {"step": {"value": 12, "done": False}, "double": {"result": 24}},
        "3": {"step": {"value": 13, "done": True}, "double": {"result": 26}},
    }
    assert loop["iteration"] == 3  # the loop task's own field counts iterations, as in Conductor
    body = [
        (t["referenceTaskName"], t["iteration"])
        for t in until_done["tasks"]
        if "__" in t["referenceTaskName"]
    ]
    assert body == [(f"{ref}__{n}", n) for n in (1, 2, 3) for ref in ("step", "double")]
    steps = [t for t in until_done["tasks"] if t["referenceTaskName"].startswith("step__")]
    assert [t["inputData"]["round"] for t in steps] == [1, 2, 3]

    assert capped["status"] == "COMPLETED", capped.get("reasonForIncompletion")
    assert capped["output"] == {"iterations": 2, "sum": 22 + 24, "secondValue": 12}


def items_workflow(prefix: str) -> dict:
    pack_input = {"sku": "${each.output.loopItem}", "position": "${each.output.loopIndex}"}
    each = task(
        "each",
        "DO_WHILE",
        items="${workflow.input.skus}",
        loopOver=[task("pack", name=f"{prefix}_pack", inputParameters=pack_input)],
    )
    return {
        "name": f"{prefix}_items",
        "version": 1,
        "tasks": [each],
        "outputParameters": {"packed": "${each.output}"},
    }


def test_do_while_over_items_runs_the_body_once_per_element(api: str):
    prefix = unique("items")
    register(api, items_workflow(prefix))  # no loopCondition: a list loop needs none

    def pack(polled: dict) -> dict:
        return {"box": f"{polled['inputData']['sku']}-{polled['inputData']['position']}"}

    with RestWorkers(api, {f"{prefix}_pack": pack}):
        three_id = start(api, f"{prefix}_items", {"skus": ["a", "b", "c"]})
        empty_id = start(api, f"{prefix}_items", {"skus": []})
        three, empty = wait_for_terminal(api, three_id), wait_for_terminal(api, empty_id)
    not_a_list = run(api, f"{prefix}_items", {"skus": "a,b"})

    assert three["status"] == "COMPLETED", three.get("reasonForIncompletion")
    assert three["output"]["packed"] == {
        "iteration": 3,
        "loopIndex": 2,
        "loopItem": "c",
        "1": {"pack": {"box": "a-0"}},
        "2": {"pack": {"box": "b-1"}},
        "3": {"pack": {"box": "c-2"}},
    }
    packs = [t for t in three["tasks"] if t["referenceTaskName"].startswith("pack__")]
    assert [t["inputData"] for t in packs] == [
        {"sku": "a", "position": 0},
        {"sku": "b", "position": 1},
        {"sku": "c", "position": 2},
    ]

    assert empty["status"] == "COMPLETED", empty.get("reasonForIncompletion")
    assert [(t["referenceTaskName"], t["outputData"]) for t in empty["tasks"]] == [("each", {"iteration": 0})]

    assert not_a_list["status"] == "FAILED"
    each = by_ref(not_a_list)["each"]
    assert each["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert each["reasonForIncompletion"] == (
        "items ${workflow.input.skus} of DO_WHILE each must be a list, but found a,b"
    )


# --- 3. FORK_JOIN_DYNAMIC, both input styles, forks done by the SDK worker ----------------------------


def square(n: int | None = None, input: int | None = None) -> dict:
    """A fork input that is not a map arrives as ``{"input": value}``."""
    return {"square": (input if n is None else n) ** 2}


def test_dynamic_forks_of_both_styles_with_the_sdk_worker(stack: BatonStack, api: str):
    prefix = unique("dyn")
    square_type, greet_type = f"{prefix}_square", f"{prefix}_greet"
    by_list = {"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"}
    same_task = {"forkTaskName": square_type, "forkTaskInputs": "${workflow.input.numbers}"}
    workflow = {
        "name": f"{prefix}_fan",
        "version": 1,
        "tasks": [
            task(
                "fan_tasks",
                "FORK_JOIN_DYNAMIC",
                dynamicForkTasksParam="tasks",
                dynamicForkTasksInputParamName="inputs",
                inputParameters=by_list,
            ),
            task("fan_tasks_join", "JOIN"),
            task("fan_same", "FORK_JOIN_DYNAMIC", inputParameters=same_task),
            task("fan_same_join", "JOIN"),
        ],
        "outputParameters": {"tasks": "${fan_tasks_join.output}", "same": "${fan_same_join.output}"},
    }
    task_defs = [
        {"name": name, "retryCount": 0, "responseTimeoutSeconds": 60} for name in (square_type, greet_type)
    ]
    register(api, workflow, task_defs=task_defs)
    workflow_input = {
        "customer": "ada",
        "tasks": [task("sq", name=square_type, inputParameters={"n": 3}), task("hello", name=greet_type)],
        # Entries of the input map are resolved like any task input.
        "inputs": {"hello": {"who": "${workflow.input.customer}"}},
        "numbers": [{"n": 4}, 5],
    }

    settings = WorkerSettings.from_env(stack.worker_environment(), worker_id="sdk-dyn")
    workers = [
        Worker(square_type, square, wait_seconds=1),
        Worker(greet_type, lambda who: {"greeting": f"hello {who}"}, wait_seconds=1),
    ]
    for worker in workers:
        worker.start(settings)
    try:
        workflow = run(api, f"{prefix}_fan", workflow_input)
    finally:
        for worker in workers:
            worker.stop(grace_seconds=5)

    assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
    # A second dynamic fork in one execution prefixes its refs with its own ref (REFERENCE 4.6).
    same_refs = [f"_fan_same_{square_type}_0", f"_fan_same_{square_type}_1"]
    assert workflow["output"] == {
        "tasks": {"sq": {"square": 9}, "hello": {"greeting": "hello ada"}},
        "same": {same_refs[0]: {"square": 16}, same_refs[1]: {"square": 25}},
    }
    tasks = by_ref(workflow)
    assert tasks["fan_tasks"]["inputData"]["forkedTasks"] == ["sq", "hello"]
    assert tasks["fan_same"]["inputData"]["forkedTasks"] == same_refs
    assert tasks["fan_same_join"]["inputData"]["joinOn"] == same_refs
    assert tasks["hello"]["inputData"] == {"who": "ada"}
    assert [tasks[ref]["inputData"] for ref in same_refs] == [
        {"n": 4, "__index": 0},
        {"input": 5, "__index": 1},
    ]
    assert {tasks[ref]["workerId"] for ref in ["sq", "hello", *same_refs]} == {"sdk-dyn"}


# --- 4. SUB_WORKFLOW by name and inline, START_WORKFLOW ----------------------------------------------

CHECKED_DOUBLE = (
    "(function () { if ($.n < 0) { throw new Error('n must not be negative, got ' + $.n); }"
    " return $.n * 2; })()"
)


def family(prefix: str) -> tuple[dict, dict]:
    """A registered child, and a parent that runs it by name, runs an inline child and starts one more."""
    child = {
        "name": f"{prefix}_child",
        "version": 1,
        "tasks": [inline("double", CHECKED_DOUBLE, n="${workflow.input.n}")],
        "outputParameters": {"doubled": "${double.output.result}"},
    }
    # Its ${...} belong to the child: the parent must hand the definition over unresolved.
    inline_child = {
        "name": f"{prefix}_inline_child",
        "version": 1,
        "tasks": [jq("label", '"order-" + (.doubled | tostring)', doubled="${workflow.input.doubled}")],
        "outputParameters": {"label": "${label.output.result}"},
    }
    start_request = {"name": child["name"], "version": 1, "input": {"n": 100}}
    parent = {
        "name": f"{prefix}_parent",
        "version": 1,
        "tasks": [
            task(
                "by_name",
                "SUB_WORKFLOW",
                subWorkflowParam={"name": child["name"], "version": 1},
                inputParameters={"n": "${workflow.input.n}"},
            ),
            task(
                "by_definition",
                "SUB_WORKFLOW",
                subWorkflowParam={"name": inline_child["name"], "workflowDefinition": inline_child},
                inputParameters={"doubled": "${by_name.output.doubled}"},
            ),
            task("kick", "START_WORKFLOW", inputParameters={"startWorkflow": start_request}),
        ],
        "outputParameters": {
            "doubled": "${by_name.output.doubled}",
            "label": "${by_definition.output.label}",
            "started": "${kick.output.workflowId}",
        },
    }
    return child, parent


def test_sub_workflows_pass_output_up_and_start_workflow_starts_an_independent_one(api: str):
    prefix = unique("sub")
    child, parent = family(prefix)
    register(api, child, parent)

    workflow = run(api, parent["name"], {"n": 21})

    assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
    started_id = workflow["output"]["started"]
    assert workflow["output"] == {"doubled": 42, "label": "order-42", "started": started_id}
    tasks = by_ref(workflow)
    by_name = get_workflow(api, tasks["by_name"]["subWorkflowId"])
    assert (by_name["workflowName"], by_name["status"]) == (child["name"], "COMPLETED")
    assert by_name["parentWorkflowId"] == workflow["workflowId"]
    assert by_name["input"] == {"n": 21}
    inline_run = get_workflow(api, tasks["by_definition"]["subWorkflowId"])
    assert inline_run["parentWorkflowId"] == workflow["workflowId"]
    assert inline_run["output"] == {"label": "order-42"}

    started = wait_for_terminal(api, started_id)
    assert started["workflowName"] == child["name"] and started.get("parentWorkflowId") is None
    assert (started["status"], started["output"]) == ("COMPLETED", {"doubled": 200})


def test_a_failing_child_fails_the_parent_task_with_the_childs_reason(api: str):
    prefix = unique("subfail")
    child, parent = family(prefix)
    register(api, child, parent)

    workflow = run(api, parent["name"], {"n": -1})

    assert workflow["status"] == "FAILED"
    assert set(by_ref(workflow)) == {"by_name"}
    sub_task = by_ref(workflow)["by_name"]
    assert sub_task["status"] == "FAILED"
    child_run = get_workflow(api, sub_task["subWorkflowId"])
    assert (child_run["status"], child_run["parentWorkflowId"]) == ("FAILED", workflow["workflowId"])
    cause = "n must not be negative, got -1"
    assert cause in child_run["reasonForIncompletion"]
    prefix_of_reason = f"Sub workflow {child['name']}.1/{child_run['workflowId']} failure reason: "
    assert sub_task["reasonForIncompletion"].startswith(prefix_of_reason)
    assert cause in sub_task["reasonForIncompletion"]
    assert cause in workflow["reasonForIncompletion"]


# --- 5. DYNAMIC, DECISION + EXCLUSIVE_JOIN, TERMINATE (COMPLETED, and FAILED in a SWITCH branch) ------


def triage_workflow(prefix: str) -> dict:
    severity = {"severity": "${handler.output.severity}"}
    handler_input = {"taskToExecute": "${workflow.input.handler}", "ticket": "${workflow.input.ticket}"}
    stop_input = {"terminationStatus": "FAILED", "terminationReason": "escalated: ${merge.output.result}"}
    workflow_output = {"action": "${merge.output.result}", "handledBy": "${handler.taskType}"}
    return {
        "name": f"{prefix}_triage",
        "version": 1,
        "tasks": [
            task("handler", "DYNAMIC", dynamicTaskNameParam="taskToExecute", inputParameters=handler_input),
            task(
                "by_severity",
                "DECISION",
                caseValueParam="severity",
                inputParameters=severity,
                decisionCases={
                    "high": [
                        inline("escalate", "'page ' + $.team", "graaljs", team="${workflow.input.team}")
                    ],
                    "low": [inline("log_it", "'logged ' + $.ticket", ticket="${workflow.input.ticket}")],
                },
            ),
            task("merge", "EXCLUSIVE_JOIN", joinOn=["escalate", "log_it"]),
            task(
                "gate",
                "SWITCH",
                evaluatorType="value-param",
                expression="severity",
                inputParameters=severity,
                decisionCases={"high": [task("stop", "TERMINATE", inputParameters=stop_input)]},
            ),
            task(
                "finish",
                "TERMINATE",
                inputParameters={"terminationStatus": "COMPLETED", "workflowOutput": workflow_output},
            ),
            task("unreachable", "NOOP"),
        ],
        "outputParameters": {"replacedBy": "the TERMINATE task's workflowOutput"},
    }


def test_dynamic_task_exclusive_join_and_terminate(api: str):
    prefix = unique("triage")
    register(api, triage_workflow(prefix))
    billing, network = f"{prefix}_billing", f"{prefix}_network"
    handlers = {billing: lambda polled: {"severity": "low"}, network: lambda polled: {"severity": "high"}}
    with RestWorkers(api, handlers) as workers:
        low_id = start(api, f"{prefix}_triage", {"handler": billing, "ticket": "T-1", "team": "sre"})
        high_id = start(api, f"{prefix}_triage", {"handler": network, "ticket": "T-2", "team": "sre"})
        low, high = wait_for_terminal(api, low_id), wait_for_terminal(api, high_id)

    assert sorted(t["taskType"] for t in workers.handled) == sorted([billing, network])
    assert low["status"] == "COMPLETED", low.get("reasonForIncompletion")
    assert low["output"] == {"action": "logged T-1", "handledBy": billing}
    tasks = by_ref(low)
    assert (tasks["handler"]["taskType"], tasks["handler"]["inputData"]["ticket"]) == (billing, "T-1")
    assert (tasks["merge"]["status"], tasks["merge"]["outputData"]) == ("COMPLETED", {"result": "logged T-1"})
    assert tasks["gate"]["outputData"]["selectedCase"] == "low"
    assert tasks["finish"]["status"] == "COMPLETED"
    assert not {"escalate", "stop", "unreachable"} & set(tasks)

    assert high["status"] == "FAILED"
    assert high["reasonForIncompletion"] == "escalated: page sre"
    tasks = by_ref(high)
    assert tasks["handler"]["taskType"] == network
    assert tasks["merge"]["outputData"] == {"result": "page sre"}
    assert tasks["stop"]["status"] == "COMPLETED"
    assert not {"log_it", "finish", "unreachable"} & set(tasks)


# --- 6. broken workflows end with a reason instead of hanging -----------------------------------------


def test_an_endless_inline_script_is_stopped_at_the_time_limit(api: str):
    prefix = unique("spin")
    register(api, {"name": f"{prefix}_spin", "tasks": [inline("spin", "(function () { for (;;) {} })()")]})

    workflow = run(api, f"{prefix}_spin", {})

    assert workflow["status"] == "FAILED"
    spin = by_ref(workflow)["spin"]
    assert spin["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "timed out" in spin["reasonForIncompletion"]
    assert spin["outputData"]["error"] == spin["reasonForIncompletion"]
    assert spin["reasonForIncompletion"] in workflow["reasonForIncompletion"]


def test_a_jq_syntax_error_fails_the_task_with_jqs_message(api: str):
    prefix = unique("jqbad")
    prices = jq("prices", ".items | map(.price", items="${workflow.input.items}")
    register(api, {"name": f"{prefix}_jq", "tasks": [prices]})

    workflow = run(api, f"{prefix}_jq", {"items": [{"price": 1}]})

    assert workflow["status"] == "FAILED"
    prices = by_ref(workflow)["prices"]
    assert prices["status"] == "FAILED"
    assert "syntax error" in prices["reasonForIncompletion"]
    assert prices["outputData"]["error"] == prices["reasonForIncompletion"]


def test_a_join_on_a_task_of_an_untaken_switch_branch_fails_the_workflow(api: str):
    prefix = unique("joinmiss")
    route = task(
        "route",
        "SWITCH",
        evaluatorType="graaljs",
        expression="$.express ? 'fast' : 'slow'",
        inputParameters={"express": "${workflow.input.express}"},
        decisionCases={"fast": [inline("courier", "'courier'")], "slow": [inline("post", "'post'")]},
    )
    workflow = {
        "name": f"{prefix}_join",
        "tasks": [
            task("fork", "FORK_JOIN", forkTasks=[[route], [task("label", "NOOP")]]),
            # The author forgot the slow branch: when it is taken, "courier" never exists.
            task("join", "JOIN", joinOn=["courier", "label"]),
        ],
    }
    register(api, workflow)

    fast = run(api, f"{prefix}_join", {"express": True})
    slow = run(api, f"{prefix}_join", {"express": False})

    assert fast["status"] == "COMPLETED", fast.get("reasonForIncompletion")
    assert slow["status"] == "FAILED"
    join = by_ref(slow)["join"]
    assert join["status"] == "FAILED"
    assert "courier" in join["reasonForIncompletion"]
    assert "courier" in slow["reasonForIncompletion"]


@pytest.mark.parametrize(
    "fork_fields",
    [
        {"inputParameters": {"forkTaskName": "never_run", "forkTaskInputs": "${workflow.input.numbers}"}},
        {
            "dynamicForkTasksParam": "tasks",
            "dynamicForkTasksInputParamName": "inputs",
            "inputParameters": {"tasks": "${workflow.input.numbers}", "inputs": {}},
        },
    ],
    ids=["fork-task-inputs", "dynamic-fork-tasks"],
)
def test_a_dynamic_fork_over_a_non_list_fails_the_workflow(api: str, fork_fields: dict):
    prefix = unique("forkbad")
    workflow = {
        "name": f"{prefix}_fan",
        "tasks": [task("fan", "FORK_JOIN_DYNAMIC", **fork_fields), task("fan_join", "JOIN")],
    }
    register(api, workflow)

    failed = run(api, f"{prefix}_fan", {"numbers": "1,2,3"})

    assert failed["status"] == "FAILED"
    assert "list" in failed["reasonForIncompletion"]
    assert "1,2,3" in failed["reasonForIncompletion"]  # the reason shows the value that is not a list


# --- 7. definitions that could never run are refused at registration ---------------------------------

REFUSED = {
    "switch-without-evaluator": (
        task("s", "SWITCH", decisionCases={"a": [task("a", "NOOP")]}),
        "evaluatorType field is required for taskType: SWITCH taskName: s",
    ),
    "switch-without-expression": (
        task("s", "SWITCH", evaluatorType="javascript", decisionCases={"a": [task("a", "NOOP")]}),
        "expression field is required for taskType: SWITCH taskName: s",
    ),
    "fork-without-branches": (
        task("f", "FORK_JOIN"),
        "forkTasks should have atleast one task for taskType: FORK_JOIN taskName: f",
    ),
    "do-while-without-condition": (
        task("l", "DO_WHILE", loopOver=[task("body", "NOOP")]),
        "loopCondition field is required for taskType: DO_WHILE taskName: l",
    ),
    "join-on-unknown-refs": (task("j", "JOIN", joinOn=["nowhere"]), "joinOn task nowhere of JOIN j"),
    "event-to-an-unsupported-sink": (
        task("e", "EVENT", sink="conductor"),
        "sink: conductor is not supported for taskType: EVENT taskName: e; use sqs:<queue name>",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_definitions_that_cannot_run_are_refused_with_validation_errors(api: str, case: str):
    defective, expected_message = REFUSED[case]
    name = unique("refused")
    workflow = {"name": name, "tasks": [task("first", "NOOP"), defective]}

    response = requests.post(f"{api}/metadata/workflow", json=workflow, timeout=HTTP_TIMEOUT_S)

    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["status"], body["retryable"]) == (400, False)
    assert body["message"] == "Validation failed, check below errors for detail."
    messages = [error["message"] for error in body["validationErrors"]]
    assert any(expected_message in message for message in messages), messages
    assert requests.get(f"{api}/metadata/workflow/{name}", timeout=HTTP_TIMEOUT_S).status_code == 404


# --- 8. system tasks: HTTP calls a service, EVENT publishes to SQS -----------------------------------


class Service:
    """A stand-in web service on 127.0.0.1: ``GET /price/A1`` answers JSON, anything else 404."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                found = self.path == "/price/A1"
                body = json.dumps({"sku": "A1", "price": 12.5}) if found else "unknown sku"
                payload = body.encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json" if found else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Service:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_http_tasks_call_a_service_and_fail_on_a_404(api: str):
    prefix = unique("http")
    price = task(
        "price",
        "HTTP",
        inputParameters={
            "http_request": {"uri": "${workflow.input.service}/price/${workflow.input.sku}", "method": "GET"}
        },
    )
    total = inline(
        "total", "$.price * $.qty", price="${price.output.response.body.price}", qty="${workflow.input.qty}"
    )
    register(
        api,
        {
            "name": f"{prefix}_quote",
            "tasks": [price, total],
            "outputParameters": {"total": "${total.output.result}"},
        },
    )

    with Service() as service:
        quoted = run(api, f"{prefix}_quote", {"service": service.url, "sku": "A1", "qty": 2})
        missing = run(api, f"{prefix}_quote", {"service": service.url, "sku": "B2", "qty": 1})

    assert quoted["status"] == "COMPLETED", quoted.get("reasonForIncompletion")
    assert quoted["output"] == {"total": 25}
    response = by_ref(quoted)["price"]["outputData"]["response"]
    assert (response["statusCode"], response["body"]) == (200, {"sku": "A1", "price": 12.5})
    assert (missing["status"], by_ref(missing)["price"]["status"]) == ("FAILED", "FAILED")
    assert by_ref(missing)["price"]["reasonForIncompletion"] == (
        'Failed to invoke HTTP task due to: java.lang.Exception: 404 Not Found: "unknown sku"'
    )
    assert "total" not in by_ref(missing)


def test_event_tasks_publish_to_an_sqs_queue(stack: BatonStack, api: str):
    prefix = unique("event")
    sqs = stack.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{prefix}-orders")["QueueUrl"]
    notify = task(
        "notify", "EVENT", sink=f"sqs:{prefix}-orders", inputParameters={"order": "${workflow.input.order}"}
    )
    register(api, {"name": f"{prefix}_notify", "tasks": [notify]})

    done = run(api, f"{prefix}_notify", {"order": "o-1"})

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [by_ref(done)["notify"]["outputData"]]
    body = json.loads(messages[0]["Body"])
    assert (body["order"], body["workflowInstanceId"], body["event_produced"]) == (
        "o-1",
        done["workflowId"],
        f"sqs:{prefix}-orders",
    )


# --- 9. WAIT ends on its own after a duration; HUMAN (and a WAIT without deadline) by an update ------


def test_a_short_wait_ends_by_itself_and_the_workflow_goes_on(api: str):
    prefix = unique("wait")
    pause = task("pause", "WAIT", inputParameters={"duration": "${workflow.input.pause}"})
    register(api, {"name": f"{prefix}_pause", "tasks": [pause, set_variable("after", done=True)]})

    done = run(api, f"{prefix}_pause", {"pause": "1s"})

    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    waited = by_ref(done)["pause"]
    assert (waited["taskType"], waited["status"], waited["callbackAfterSeconds"]) == ("WAIT", "COMPLETED", 1)
    assert waited["endTime"] - waited["scheduledTime"] >= 1000
    assert done["variables"] == {"done": True}


def test_human_and_blocking_wait_tasks_are_completed_by_reference(api: str):
    prefix = unique("human")
    approve = task("approve", "HUMAN", inputParameters={"amount": "${workflow.input.amount}"})
    hold = task("hold", "WAIT")
    register(
        api,
        {
            "name": f"{prefix}_approval",
            "tasks": [approve, hold],
            "outputParameters": {"approved": "${approve.output.approved}", "note": "${hold.output.note}"},
        },
    )
    workflow_id = start(api, f"{prefix}_approval", {"amount": 250})
    approval = wait_for_task(api, workflow_id, "approve")
    assert (approval["status"], approval["inputData"]) == ("IN_PROGRESS", {"amount": 250})

    approved = requests.post(
        f"{api}/tasks/{workflow_id}/approve/COMPLETED?workerid=manager",
        json={"approved": True},
        timeout=HTTP_TIMEOUT_S,
    )
    assert (approved.status_code, approved.text) == (200, approval["taskId"])
    hold_task = wait_for_task(api, workflow_id, "hold")
    assert (hold_task["status"], hold_task["callbackAfterSeconds"]) == ("IN_PROGRESS", 2147483647)

    released = requests.post(
        f"{api}/tasks/{workflow_id}/hold/COMPLETED/sync", json={"note": "go"}, timeout=HTTP_TIMEOUT_S
    )
    assert released.status_code == 200, released.text
    done = wait_for_terminal(api, workflow_id)
    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    assert done["output"] == {"approved": True, "note": "go"}
    assert by_ref(done)["approve"]["workerId"] == "manager"

    again = requests.post(f"{api}/tasks/{workflow_id}/approve/FAILED", json={}, timeout=HTTP_TIMEOUT_S)
    assert (again.status_code, again.text) == (200, "")
    assert get_workflow(api, workflow_id)["status"] == "COMPLETED"


def wait_for_task(api: str, workflow_id: str, reference: str, timeout_s: float = 10) -> dict:
    """Poll until the workflow has a task of that reference (the decider runs asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = by_ref(get_workflow(api, workflow_id)).get(reference)
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"no task {reference} in {workflow_id} after {timeout_s}s"
        time.sleep(0.1)
