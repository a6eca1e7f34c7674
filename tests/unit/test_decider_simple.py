"""decide() over SIMPLE tasks: sequencing, inputs, retries, failures, timeouts — no AWS involved."""

from __future__ import annotations

import pytest

from batonflow.engine.decider import decide
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, current, definition, new_workflow, step, worker_poll, worker_result

THREE_STEPS = [
    {
        "name": "fetch",
        "taskReferenceName": "fetch_ref",
        "inputParameters": {"user": "${workflow.input.user}"},
    },
    {
        "name": "enrich",
        "taskReferenceName": "enrich_ref",
        "inputParameters": {
            "profile": "${fetch_ref.output.profile}",
            "greeting": "hi ${fetch_ref.output.profile.name}",
        },
    },
    {"name": "store", "taskReferenceName": "store_ref", "inputParameters": {"all": "${enrich_ref.output}"}},
]


def test_three_simple_tasks_run_in_order_with_resolved_inputs():
    defn = definition(
        THREE_STEPS, outputParameters={"saved": "${store_ref.output.id}", "who": "${workflow.input.user}"}
    )
    state, plan = step(new_workflow(defn, {"user": "ada"}), T0)

    assert [t.reference_task_name for t in plan.new_tasks] == ["fetch_ref"]
    fetch = plan.new_tasks[0]
    assert fetch.status == TaskStatus.SCHEDULED
    assert fetch.task_type == "fetch"
    assert fetch.input_data == {"user": "ada"}
    assert [(d.task.task_id, d.delay_seconds) for d in plan.dispatches] == [(fetch.task_id, 0)]

    state = worker_result(state, "fetch_ref", T0 + 10, output={"profile": {"name": "Ada"}})
    state, plan = step(state, T0 + 20)
    enrich = current(state, "enrich_ref")
    assert enrich.input_data == {"profile": {"name": "Ada"}, "greeting": "hi Ada"}
    assert enrich.seq == 2

    state = worker_result(state, "enrich_ref", T0 + 30, output={"score": 7})
    state, plan = step(state, T0 + 40)
    assert current(state, "store_ref").input_data == {"all": {"score": 7}}

    state = worker_result(state, "store_ref", T0 + 50, output={"id": "row-9"})
    state, plan = step(state, T0 + 60)
    assert plan.workflow is not None
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"saved": "row-9", "who": "ada"}
    assert state.workflow.end_time == T0 + 60
    assert [t.reference_task_name for t in state.workflow.tasks] == ["fetch_ref", "enrich_ref", "store_ref"]


def test_output_defaults_to_the_last_tasks_output():
    state, _ = step(new_workflow(definition(THREE_STEPS[:1])), T0)
    state = worker_result(state, "fetch_ref", T0 + 1, output={"done": True, "empty": None})
    state, _ = step(state, T0 + 2)
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.output == {"done": True, "empty": None}


def test_deciding_twice_gives_the_same_plan_and_then_nothing():
    state = new_workflow(definition(THREE_STEPS), {"user": "x"})
    assert decide(state, T0) == decide(state, T0)
    state, _ = step(state, T0)
    again = decide(state, T0 + 5)
    assert again.is_empty


def test_a_duplicate_result_decided_again_schedules_nothing_new():
    state, _ = step(new_workflow(definition(THREE_STEPS)), T0)
    state = worker_result(state, "fetch_ref", T0 + 1)
    state, first = step(state, T0 + 2)
    second = decide(state, T0 + 3)
    assert len(first.new_tasks) == 1
    assert second.is_empty


def test_a_task_failing_twice_with_retry_count_2_completes_on_its_third_attempt():
    defn = definition(THREE_STEPS[:1], {"fetch": {"retryCount": 2, "retryDelaySeconds": 5}})
    state, _ = step(new_workflow(defn), T0)
    for attempt in range(2):
        state = worker_result(state, "fetch_ref", T0 + 10, status=TaskStatus.FAILED, reason=f"boom {attempt}")
        state, plan = step(state, T0 + 20)
        retry = plan.new_tasks[0]
        assert retry.retry_count == attempt + 1
        assert retry.status == TaskStatus.SCHEDULED
        assert retry.reason_for_incompletion == f"boom {attempt}"
        assert plan.dispatches[0].delay_seconds == 5
        assert retry.callback_after_seconds == 5
    state = worker_result(state, "fetch_ref", T0 + 30, output={"ok": 1})
    state, _ = step(state, T0 + 40)

    tasks = state.workflow.tasks
    assert [t.retry_count for t in tasks] == [0, 1, 2]
    assert [t.status for t in tasks] == [TaskStatus.FAILED, TaskStatus.FAILED, TaskStatus.COMPLETED]
    assert [t.retried for t in tasks] == [True, True, False]
    assert tasks[1].retried_task_id == tasks[0].task_id
    assert len({t.task_id for t in tasks}) == 3
    assert state.workflow.status == WorkflowStatus.COMPLETED
    assert state.workflow.failed_reference_task_names == ["fetch_ref"]


def test_retries_exhausted_fail_the_workflow_naming_the_task():
    defn = definition(THREE_STEPS, {"fetch": {"retryCount": 1, "retryDelaySeconds": 0}})
    state, _ = step(new_workflow(defn), T0)
    state = worker_result(state, "fetch_ref", T0 + 1, status=TaskStatus.FAILED, reason="nope")
    state, _ = step(state, T0 + 2)
    state = worker_result(state, "fetch_ref", T0 + 3, status=TaskStatus.FAILED, reason="still nope")
    state, plan = step(state, T0 + 4)

    failed = current(state, "fetch_ref")
    assert state.workflow.status == WorkflowStatus.FAILED
    assert state.workflow.reason_for_incompletion == (
        f"Task {failed.task_id} failed with status: FAILED and reason: 'still nope'"
    )
    assert state.workflow.failed_task_names == ["fetch"]
    assert plan.wake_at is None
    assert len(state.workflow.tasks) == 2


def test_terminal_error_is_never_retried():
    defn = definition(THREE_STEPS[:1], {"fetch": {"retryCount": 3}})
    state, _ = step(new_workflow(defn), T0)
    state = worker_result(
        state, "fetch_ref", T0 + 1, status=TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason="bad input"
    )
    state, _ = step(state, T0 + 2)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert "failed with status: FAILED and reason: 'bad input'" in state.workflow.reason_for_incompletion
    assert len(state.workflow.tasks) == 1


def test_workflow_task_retry_count_overrides_the_task_definition():
    tasks = [{**THREE_STEPS[0], "retryCount": 0}]
    state, _ = step(new_workflow(definition(tasks, {"fetch": {"retryCount": 5}})), T0)
    state = worker_result(state, "fetch_ref", T0 + 1, status=TaskStatus.FAILED)
    state, _ = step(state, T0 + 2)
    assert state.workflow.status == WorkflowStatus.FAILED


def test_optional_task_failure_becomes_completed_with_errors_and_the_flow_goes_on():
    tasks = [{**THREE_STEPS[0], "optional": True}, THREE_STEPS[1]]
    state, _ = step(new_workflow(definition(tasks, {"fetch": {"retryCount": 0}})), T0)
    state = worker_result(state, "fetch_ref", T0 + 1, status=TaskStatus.FAILED, reason="meh")
    state, _ = step(state, T0 + 2)
    assert current(state, "fetch_ref").status == TaskStatus.COMPLETED_WITH_ERRORS
    assert current(state, "enrich_ref").status == TaskStatus.SCHEDULED
    state = worker_result(state, "enrich_ref", T0 + 3)
    state, _ = step(state, T0 + 4)
    assert state.workflow.status == WorkflowStatus.COMPLETED


def test_permissive_task_failure_lets_the_flow_go_on_and_fails_the_workflow_at_the_end():
    tasks = [{**THREE_STEPS[0], "permissive": True}, THREE_STEPS[1]]
    state, _ = step(new_workflow(definition(tasks, {"fetch": {"retryCount": 0}})), T0)
    state = worker_result(state, "fetch_ref", T0 + 1, status=TaskStatus.FAILED, reason="meh")
    state, _ = step(state, T0 + 2)
    assert current(state, "enrich_ref").status == TaskStatus.SCHEDULED
    state = worker_result(state, "enrich_ref", T0 + 3)
    state, _ = step(state, T0 + 4)
    assert state.workflow.status == WorkflowStatus.FAILED
    assert "reason: 'meh'" in state.workflow.reason_for_incompletion


def test_response_timeout_times_out_the_attempt_and_schedules_a_new_one():
    defn = definition(
        THREE_STEPS[:1], {"fetch": {"responseTimeoutSeconds": 10, "retryCount": 1, "retryDelaySeconds": 0}}
    )
    state, _ = step(new_workflow(defn), T0)
    state = worker_poll(state, "fetch_ref", T0 + 1_000)
    state, plan = step(state, T0 + 2_000)
    assert plan.is_empty
    assert plan.wake_at == T0 + 11_000

    state, plan = step(state, T0 + 11_000)
    first, second = state.workflow.tasks
    assert first.status == TaskStatus.TIMED_OUT
    assert first.reason_for_incompletion == (
        f"responseTimeout: 10 exceeded for the taskId: {first.task_id} with Task Definition: fetch"
    )
    assert second.status == TaskStatus.SCHEDULED and second.retry_count == 1
    assert state.workflow.status == WorkflowStatus.RUNNING

    state = worker_poll(state, "fetch_ref", T0 + 12_000)
    state, _ = step(state, T0 + 22_000)
    assert state.workflow.status == WorkflowStatus.TIMED_OUT


def test_task_timeout_with_time_out_wf_times_the_workflow_out_without_retry():
    task_def = {
        "timeoutSeconds": 30,
        "responseTimeoutSeconds": 30,
        "timeoutPolicy": "TIME_OUT_WF",
        "retryCount": 3,
    }
    state, _ = step(new_workflow(definition(THREE_STEPS[:1], {"fetch": task_def})), T0)
    state = worker_poll(state, "fetch_ref", T0)
    state, plan = step(state, T0 + 29_000)
    assert plan.is_empty
    state, _ = step(state, T0 + 30_000)
    assert state.workflow.status == WorkflowStatus.TIMED_OUT
    assert state.workflow.reason_for_incompletion == (
        "Task timed out after 30 seconds. Timeout configured as 30 seconds. "
        "Timeout policy configured to TIME_OUT_WF"
    )
    assert len(state.workflow.tasks) == 1


def test_workflow_timeout_with_time_out_wf():
    defn = definition(THREE_STEPS[:1], timeoutSeconds=60, timeoutPolicy="TIME_OUT_WF")
    state, plan = step(new_workflow(defn), T0)
    assert plan.wake_at == T0 + 60_000
    state, _ = step(state, T0 + 60_000)
    assert state.workflow.status == WorkflowStatus.TIMED_OUT
    assert current(state, "fetch_ref").status == TaskStatus.CANCELED


def test_workflow_timeout_alert_only_never_times_out():
    defn = definition(THREE_STEPS[:1], timeoutSeconds=60)
    state, plan = step(new_workflow(defn), T0)
    assert plan.wake_at is None
    state, _ = step(state, T0 + 600_000)
    assert state.workflow.status == WorkflowStatus.RUNNING


def test_start_delay_delays_the_first_dispatch():
    _, plan = step(new_workflow(definition([{**THREE_STEPS[0], "startDelay": 30}])), T0)
    assert plan.dispatches[0].delay_seconds == 30
    assert plan.new_tasks[0].callback_after_seconds == 30


def test_unknown_type_is_a_user_defined_worker_task_queued_under_its_type():
    tasks = [{"name": "anything", "taskReferenceName": "u", "type": "MY_CUSTOM_TYPE"}]
    _, plan = step(new_workflow(definition(tasks)), T0)
    assert plan.new_tasks[0].task_type == "MY_CUSTOM_TYPE"
    assert plan.new_tasks[0].task_def_name == "anything"


@pytest.mark.parametrize("status", [WorkflowStatus.TERMINATED, WorkflowStatus.FAILED])
def test_an_unsuccessful_terminal_workflow_cancels_leftover_tasks(status):
    state, _ = step(new_workflow(definition(THREE_STEPS[:1])), T0)
    ended = state.workflow.model_copy(update={"status": status})
    state = type(state)(workflow=ended)
    state, plan = step(state, T0 + 1)
    assert current(state, "fetch_ref").status == TaskStatus.CANCELED
    assert plan.workflow is None


def test_a_failed_workflow_starts_its_failure_workflow_with_conductors_input():
    defn = definition(THREE_STEPS[:1], {"fetch": {"retryCount": 0}}, failureWorkflow="cleanup")
    state, _ = step(new_workflow(defn, {"user": "ada"}), T0)
    state = worker_result(state, "fetch_ref", T0 + 1, status=TaskStatus.FAILED, reason="boom")
    state, plan = step(state, T0 + 2)
    start = plan.failure_workflow
    assert start is not None
    assert state.workflow.output["conductor.failure_workflow"] == start.workflow_id
    assert start.request["name"] == "cleanup"
    failure_input = start.request["input"]
    assert failure_input["user"] == "ada" and failure_input["workflowId"] == "wf-1"
    assert failure_input["failureStatus"] == "FAILED"
    assert failure_input["failureTaskId"] == current(state, "fetch_ref").task_id
    assert failure_input["failedWorkflow"]["workflowId"] == "wf-1"


def test_the_failure_workflow_name_can_come_from_the_input():
    defn = definition(
        THREE_STEPS[:1], {"fetch": {"retryCount": 0}}, failureWorkflow="$workflow.input.onFailure"
    )
    state, _ = step(new_workflow(defn, {"onFailure": "from_input"}), T0)
    state = worker_result(state, "fetch_ref", T0 + 1, status=TaskStatus.FAILED)
    _, plan = step(state, T0 + 2)
    assert plan.failure_workflow.request["name"] == "from_input"


def test_terminating_through_the_api_never_starts_the_failure_workflow():
    from batonflow.engine.lifecycle import terminate

    state, _ = step(new_workflow(definition(THREE_STEPS[:1], failureWorkflow="cleanup")), T0)
    plan = terminate(state, "stop", T0 + 1)
    assert plan.failure_workflow is None
    assert "conductor.failure_workflow" not in plan.workflow.output
