"""HTTP and EVENT through decide(): scheduled and dispatched like worker tasks, never run in the decider,
with the mapper's extra input keys; retried and timed out by their TaskDef like SIMPLE."""

from __future__ import annotations

from batonflow.model import TaskStatus, WorkflowStatus, validate_workflow_def
from tests.support.engine import T0, current, definition, new_workflow, step, worker_poll, worker_result

HTTP = {
    "name": "call",
    "taskReferenceName": "call_ref",
    "type": "HTTP",
    "inputParameters": {"http_request": {"uri": "${workflow.input.uri}", "method": "GET"}},
}
EVENT = {
    "name": "notify",
    "taskReferenceName": "notify_ref",
    "type": "EVENT",
    "sink": "sqs:${workflow.input.queue}",
    "inputParameters": {"id": "${workflow.input.id}"},
}


def test_http_is_scheduled_and_dispatched_to_its_type_queue():
    state, plan = step(new_workflow(definition([HTTP]), {"uri": "http://x/y"}), T0)

    call = current(state, "call_ref")
    assert (call.status, call.task_type, call.task_def_name) == (TaskStatus.SCHEDULED, "HTTP", "call")
    assert call.input_data == {"http_request": {"uri": "http://x/y", "method": "GET"}, "asyncComplete": False}
    assert [(d.task.task_id, d.task.task_type) for d in plan.dispatches] == [(call.task_id, "HTTP")]
    assert state.workflow.status == WorkflowStatus.RUNNING


def test_http_async_complete_comes_from_the_input_or_the_workflow_task_and_drops_the_response_timeout():
    task_defs = {"call": {"retryCount": 0, "responseTimeoutSeconds": 30}}
    from_input = {**HTTP, "inputParameters": {**HTTP["inputParameters"], "asyncComplete": True}}
    from_task = {**HTTP, "asyncComplete": True}
    plain = step(new_workflow(definition([HTTP], task_defs)), T0)[0]

    assert current(plain, "call_ref").response_timeout_seconds == 30
    for workflow_task in (from_input, from_task):
        state, _ = step(new_workflow(definition([workflow_task], task_defs)), T0)
        call = current(state, "call_ref")
        assert call.input_data["asyncComplete"] is True
        assert call.response_timeout_seconds == 0


def test_a_failed_http_attempt_is_retried_by_its_task_def():
    task_defs = {"call": {"retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 30}}
    state, _ = step(new_workflow(definition([HTTP], task_defs), {"uri": "http://x"}), T0)
    state = worker_result(state, "call_ref", T0 + 10, status=TaskStatus.FAILED, reason="503")

    state, plan = step(state, T0 + 10)

    retry = current(state, "call_ref")
    assert (retry.retry_count, retry.status, retry.task_type) == (1, TaskStatus.SCHEDULED, "HTTP")
    assert retry.input_data["asyncComplete"] is False
    assert [d.task.task_id for d in plan.dispatches] == [retry.task_id]


def test_an_http_attempt_past_its_response_timeout_times_out():
    task_defs = {"call": {"retryCount": 0, "responseTimeoutSeconds": 5}}
    state, _ = step(new_workflow(definition([HTTP], task_defs), {"uri": "http://x"}), T0)
    state = worker_poll(state, "call_ref", T0)

    state, _ = step(state, T0 + 5_000)

    call = current(state, "call_ref")
    assert call.status == TaskStatus.TIMED_OUT
    assert call.reason_for_incompletion.startswith("responseTimeout: 5 exceeded")
    assert state.workflow.status == WorkflowStatus.TIMED_OUT


def test_event_input_holds_the_resolved_sink_and_the_async_flag():
    state, plan = step(new_workflow(definition([EVENT]), {"queue": "orders", "id": 7}), T0)

    notify = current(state, "notify_ref")
    assert (notify.status, notify.task_type) == (TaskStatus.SCHEDULED, "EVENT")
    assert notify.input_data == {"id": 7, "sink": "sqs:orders", "asyncComplete": False}
    assert [d.task.task_type for d in plan.dispatches] == ["EVENT"]


def test_an_async_complete_event_has_no_response_timeout():
    task_defs = {"notify": {"retryCount": 0, "responseTimeoutSeconds": 30}}
    state, _ = step(new_workflow(definition([{**EVENT, "asyncComplete": True}], task_defs)), T0)

    notify = current(state, "notify_ref")
    assert notify.input_data["asyncComplete"] is True
    assert notify.response_timeout_seconds == 0


def test_the_flow_goes_on_when_the_system_task_completes():
    after = {"name": "after", "taskReferenceName": "after_ref", "inputParameters": {}}
    state, _ = step(new_workflow(definition([EVENT, after]), {"queue": "q"}), T0)
    state = worker_result(state, "notify_ref", T0 + 1, output={"event_produced": "sqs:q"})

    state, plan = step(state, T0 + 1)

    assert current(state, "after_ref").status == TaskStatus.SCHEDULED
    assert [d.task.reference_task_name for d in plan.dispatches] == ["after_ref"]


def _messages(sink: str | None) -> list[str]:
    task = {"name": "e", "taskReferenceName": "e", "type": "EVENT", "inputParameters": {}}
    if sink is not None:
        task["sink"] = sink
    return [e.message for e in validate_workflow_def(definition([task]))]


def test_only_sqs_sinks_register():
    assert _messages("sqs:orders") == []
    assert _messages("sqs:${workflow.input.queue}") == []
    assert _messages(None) == ["sink field is required for taskType: EVENT taskName: e"]
    for sink in ("conductor", "conductor:x", "amqp:q", "sqs:", "sqs:  ", "SQS:q", ""):
        assert _messages(sink) == [
            f"sink: {sink} is not supported for taskType: EVENT taskName: e; use sqs:<queue name>"
        ], sink
