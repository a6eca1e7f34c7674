"""conductor-python 2.0's clients, unchanged, against ``baton up``: MetadataClient, WorkflowClient,
WorkflowExecutor and the ConductorWorkflow DSL (python-sdk-wire.md §3b, §4).

The SDK turns a response with one field it cannot read (a bad enum, an ISO date in an int field) into ``None``
without raising, so every answer here is checked field by field, never just for the absence of an error.
Workers are plain REST pollers (``RestWorkers``) on the same API: the SDK's ``TaskHandler`` has its own suite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models.rerun_workflow_request import RerunWorkflowRequest
from conductor.client.http.models.skip_task_request import SkipTaskRequest
from conductor.client.http.models.start_workflow_request import StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.workflow import Workflow
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.inline import InlineTask
from conductor.client.workflow.task.simple_task import SimpleTask
from conductor.client.workflow.task.switch_task import SwitchTask

from tests.e2e.helpers import TIMEOUT_S, RestWorkers, unique

pytestmark = [
    pytest.mark.e2e,
    # the SDK reads its own deprecated model properties (TaskDef.owner_app, ...) when it serialises a body
    pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning"),
]

T = TypeVar("T")


@pytest.fixture
def config(api: str) -> Configuration:
    return Configuration(server_api_url=api)


@pytest.fixture
def clients(config: Configuration) -> OrkesClients:
    return OrkesClients(config)


@pytest.fixture
def executor(config: Configuration) -> WorkflowExecutor:
    return WorkflowExecutor(config)


def eventually(read: Callable[[], T], check: Callable[[T], bool], within_s: float = TIMEOUT_S) -> T:
    """Read until ``check`` holds (the decider runs asynchronously after an API call)."""
    deadline = time.monotonic() + within_s
    while True:
        value = read()
        if check(value):
            return value
        assert time.monotonic() < deadline, f"condition not reached within {within_s}s: {value}"
        time.sleep(0.05)


def tasks_of(workflow: Workflow) -> list[tuple[str, str]]:
    return [(task.reference_task_name, task.status) for task in workflow.tasks]


def is_epoch_ms(value: Any) -> bool:
    return isinstance(value, int) and value > 1_600_000_000_000


def greeting(task: dict[str, Any]) -> dict[str, Any]:
    return {"greeting": f"Hello, {task['inputData']['name']}!"}


def simple(task_type: str, ref: str, **inputs: Any) -> WorkflowTask:
    return WorkflowTask(name=task_type, task_reference_name=ref, type="SIMPLE", input_parameters=inputs)


def register_greeting(clients: OrkesClients, name: str, *tasks: WorkflowTask, **fields: Any) -> None:
    """A workflow of ``tasks`` (by default one ``greet`` task of type ``name``) with ``greeting`` output."""
    tasks = tasks or (simple(name, "greet", name="${workflow.input.name}"),)
    definition = WorkflowDef(
        name=name,
        version=1,
        tasks=list(tasks),
        output_parameters={"greeting": "${greet.output.greeting}"},
        **fields,
    )
    clients.get_metadata_client().register_workflow_def(definition, overwrite=True)


# -- MetadataClient ---------------------------------------------------------------------------------------


def test_task_definitions_round_trip_with_oss_defaults(clients: OrkesClients):
    metadata = clients.get_metadata_client()
    minimal, full = unique("sdkmin"), unique("sdkfull")

    metadata.register_task_def(TaskDef(name=minimal))  # POST [{"name", "enforceSchema": false}]
    defaults = metadata.get_task_def(minimal)
    assert defaults is not None and defaults.name == minimal
    assert (defaults.retry_count, defaults.retry_logic, defaults.retry_delay_seconds) == (3, "FIXED", 60)
    assert (defaults.timeout_seconds, defaults.response_timeout_seconds) == (0, 3600)
    assert (defaults.timeout_policy, defaults.backoff_scale_factor) == ("TIME_OUT_WF", 1)
    assert is_epoch_ms(defaults.create_time)

    given = TaskDef(
        name=full,
        description="sdk task",
        retry_count=0,
        timeout_seconds=120,
        timeout_policy="ALERT_ONLY",
        response_timeout_seconds=60,
        retry_logic="LINEAR_BACKOFF",
        input_keys=["name"],
        owner_email="sdk@example.com",
    )
    metadata.register_task_def(given)
    stored = metadata.get_task_def(full)
    assert (stored.description, stored.retry_count, stored.timeout_seconds) == ("sdk task", 0, 120)
    assert (stored.timeout_policy, stored.response_timeout_seconds) == ("ALERT_ONLY", 60)
    assert (stored.retry_logic, stored.input_keys, stored.owner_email) == (
        "LINEAR_BACKOFF",
        ["name"],
        "sdk@example.com",
    )

    stored.retry_count, stored.description = 2, "updated"
    metadata.update_task_def(stored)  # PUT, a single object
    updated = metadata.get_task_def(full)
    assert (updated.retry_count, updated.description, updated.timeout_seconds) == (2, "updated", 120)

    listed = {task_def.name: task_def for task_def in metadata.get_all_task_defs()}
    assert listed[minimal].response_timeout_seconds == 3600
    assert listed[full].retry_count == 2

    metadata.unregister_task_def(minimal)  # DELETE with a {} body
    with pytest.raises(ApiException) as missing:
        metadata.get_task_def(minimal)
    assert missing.value.status == 404
    assert minimal in missing.value.body


def test_workflow_definitions_round_trip_through_post_put_get_and_delete(clients: OrkesClients):
    metadata = clients.get_metadata_client()
    name = unique("sdkdef")

    # No version, no timeoutPolicy: Conductor's defaults (version 1, ALERT_ONLY).
    metadata.register_workflow_def(WorkflowDef(name=name, tasks=[simple(name, "greet")]), overwrite=True)
    first = metadata.get_workflow_def(name)
    assert (first.name, first.version, first.schema_version) == (name, 1, 2)
    assert (first.timeout_policy, first.timeout_seconds, first.restartable) == ("ALERT_ONLY", 0, True)
    assert [(t.name, t.task_reference_name, t.type) for t in first.tasks] == [(name, "greet", "SIMPLE")]
    assert is_epoch_ms(first.create_time)

    with pytest.raises(ApiException) as conflict:  # POST ?overwrite=False on an existing version
        metadata.register_workflow_def(WorkflowDef(name=name, tasks=[simple(name, "greet")]), overwrite=False)
    assert conflict.value.status == 409

    second = WorkflowDef(
        name=name,
        version=2,
        description="second",
        tasks=[simple(name, "greet"), simple(name, "again")],
        timeout_policy="TIME_OUT_WF",
        timeout_seconds=600,
    )
    metadata.update_workflow_def(second, overwrite=True)  # PUT ?overwrite=True with an array
    latest = metadata.get_workflow_def(name)
    assert (latest.version, latest.description) == (2, "second")
    assert (latest.timeout_policy, latest.timeout_seconds) == ("TIME_OUT_WF", 600)
    assert [t.task_reference_name for t in latest.tasks] == ["greet", "again"]
    assert metadata.get_workflow_def(name, version=1).description is None

    listed = [(d.name, d.version) for d in metadata.get_all_workflow_defs() if d.name == name]
    assert sorted(listed) == [(name, 1), (name, 2)]

    metadata.unregister_workflow_def(name, 2)
    with pytest.raises(ApiException) as missing:
        metadata.get_workflow_def(name, version=2)
    assert missing.value.status == 404
    assert metadata.get_workflow_def(name).version == 1


# -- WorkflowClient ---------------------------------------------------------------------------------------


def test_start_get_status_and_completion(api: str, clients: OrkesClients):
    workflows = clients.get_workflow_client()
    name = unique("sdkrun")
    remember = WorkflowTask(
        name="remember",
        task_reference_name="remember",
        type="SET_VARIABLE",
        input_parameters={"who": "${workflow.input.name}"},
    )
    register_greeting(clients, name, simple(name, "greet", name="${workflow.input.name}"), remember)

    request = StartWorkflowRequest(
        name=name, version=1, input={"name": "Ada"}, correlation_id="c-1", priority=3
    )
    workflow_id = workflows.start_workflow(request)  # idempotencyStrategy FAIL is always in the body
    scheduled = eventually(lambda: workflows.get_workflow(workflow_id, include_tasks=True), lambda w: w.tasks)
    assert (scheduled.workflow_id, scheduled.workflow_name, scheduled.workflow_version) == (
        workflow_id,
        name,
        1,
    )
    assert (scheduled.status, scheduled.input, scheduled.correlation_id, scheduled.priority) == (
        "RUNNING",
        {"name": "Ada"},
        "c-1",
        3,
    )
    assert is_epoch_ms(scheduled.create_time) and is_epoch_ms(scheduled.update_time)
    (greet,) = scheduled.tasks
    assert (greet.reference_task_name, greet.task_type, greet.task_def_name) == ("greet", name, name)
    assert (greet.status, greet.input_data, greet.workflow_instance_id) == (
        "SCHEDULED",
        {"name": "Ada"},
        workflow_id,
    )
    assert (greet.seq, greet.retry_count, greet.workflow_priority) == (1, 0, 3)
    assert is_epoch_ms(greet.scheduled_time)

    # include_tasks=False sends no parameter at all, so Conductor's default (with tasks) applies
    assert tasks_of(workflows.get_workflow(workflow_id, include_tasks=False)) == [("greet", "SCHEDULED")]

    running = workflows.get_workflow_status(workflow_id, include_output=False, include_variables=False)
    assert (running.workflow_id, running.correlation_id, running.status) == (workflow_id, "c-1", "RUNNING")
    assert (running.output, running.variables) == (None, None)

    with RestWorkers(api, {name: greeting}):
        done = eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.status != "RUNNING")
    assert (done.status, done.output) == ("COMPLETED", {"greeting": "Hello, Ada!"})
    assert is_epoch_ms(done.end_time) and done.end_time >= done.create_time
    assert tasks_of(done) == [("greet", "COMPLETED"), ("remember", "COMPLETED")]
    completed = done.tasks[0]
    assert (completed.status, completed.output_data, completed.worker_id) == (
        "COMPLETED",
        {"greeting": "Hello, Ada!"},
        "e2e-rest",
    )
    assert is_epoch_ms(completed.start_time) and is_epoch_ms(completed.end_time)

    status = workflows.get_workflow_status(workflow_id, include_output=True, include_variables=True)
    assert (status.status, status.output, status.variables) == (
        "COMPLETED",
        {"greeting": "Hello, Ada!"},
        {"who": "Ada"},
    )


def test_start_by_name_with_query_parameters(clients: OrkesClients):
    workflows = clients.get_workflow_client()
    name = unique("sdkbyname")
    register_greeting(clients, name)

    workflow_id = workflows.start_workflow_by_name(
        name, {"name": "Bo"}, version=1, correlationId="c-2", priority=5
    )
    workflow = workflows.get_workflow(workflow_id)
    assert (workflow.workflow_name, workflow.workflow_version, workflow.status) == (name, 1, "RUNNING")
    assert (workflow.input, workflow.correlation_id, workflow.priority) == ({"name": "Bo"}, "c-2", 5)
    workflows.terminate_workflow(workflow_id, reason="done")


def test_pause_resume_and_terminate_without_failure_workflow(clients: OrkesClients):
    """``triggerFailureWorkflow=True`` is ignored, as by Conductor OSS: terminating never starts one."""
    workflows = clients.get_workflow_client()
    name, failure = unique("sdkstop"), unique("sdkfailure")
    register_greeting(clients, failure)
    register_greeting(clients, name, failure_workflow=failure)

    workflow_id = workflows.start_workflow(StartWorkflowRequest(name=name, input={"name": "Cy"}))
    eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.tasks)
    workflows.pause_workflow(workflow_id)
    assert workflows.get_workflow_status(workflow_id).status == "PAUSED"
    workflows.resume_workflow(workflow_id)
    assert workflows.get_workflow_status(workflow_id).status == "RUNNING"

    reason = "stopped by the SDK: ünïcode & spaces"
    workflows.terminate_workflow(workflow_id, reason=reason, trigger_failure_workflow=True)
    terminated = workflows.get_workflow(workflow_id)
    assert (terminated.status, terminated.reason_for_incompletion) == ("TERMINATED", reason)
    assert terminated.output == {"greeting": None}  # no conductor.failure_workflow entry
    assert tasks_of(terminated) == [("greet", "CANCELED")]
    assert is_epoch_ms(terminated.end_time)
    assert workflows.search(query=f"workflowType = '{failure}'").results == []


def test_restart_with_latest_definition(clients: OrkesClients):
    workflows = clients.get_workflow_client()
    name = unique("sdkrestart")
    register_greeting(clients, name)
    workflow_id = workflows.start_workflow(StartWorkflowRequest(name=name, version=1, input={"name": "Di"}))
    eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.tasks)  # after the first decide
    workflows.terminate_workflow(workflow_id, reason="to restart")

    later = WorkflowDef(name=name, version=2, tasks=[simple(name, "greet_v2", name="${workflow.input.name}")])
    clients.get_metadata_client().update_workflow_def(later, overwrite=True)
    workflows.restart_workflow(workflow_id, use_latest_def=True)  # ?useLatestDefinitions=True

    restarted = eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.tasks)
    assert (restarted.status, restarted.workflow_version, restarted.reason_for_incompletion) == (
        "RUNNING",
        2,
        None,
    )
    assert tasks_of(restarted) == [("greet_v2", "SCHEDULED")]
    assert restarted.input == {"name": "Di"}
    workflows.terminate_workflow(workflow_id)


def test_retry_a_failed_workflow_then_rerun_it_with_new_input(api: str, clients: OrkesClients):
    workflows = clients.get_workflow_client()
    name = unique("sdkretry")
    clients.get_metadata_client().register_task_def(TaskDef(name=name, retry_count=0))
    register_greeting(clients, name)
    attempts: list[str] = []

    def fail_first(task: dict[str, Any]) -> dict[str, Any]:
        attempts.append(task["taskId"])
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return greeting(task)

    workflow_id = workflows.start_workflow(StartWorkflowRequest(name=name, input={"name": "Ed"}))
    with RestWorkers(api, {name: fail_first}):
        failed = eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.status != "RUNNING")
        assert (failed.status, tasks_of(failed)) == ("FAILED", [("greet", "FAILED")])
        assert "first attempt fails" in failed.reason_for_incompletion
        assert set(failed.failed_reference_task_names) == {"greet"}

        workflows.retry_workflow(workflow_id, resume_subworkflow_tasks=True)  # ?resumeSubworkflowTasks=True
        retried = eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.status != "RUNNING")
    assert (retried.status, retried.output) == ("COMPLETED", {"greeting": "Hello, Ed!"})
    assert tasks_of(retried) == [("greet", "FAILED"), ("greet", "COMPLETED")]
    first_attempt, second_attempt = retried.tasks
    assert (second_attempt.retry_count, second_attempt.retried_task_id) == (1, first_attempt.task_id)
    assert first_attempt.retried is True

    rerun_id = workflows.rerun_workflow(workflow_id, RerunWorkflowRequest(workflow_input={"name": "Flo"}))
    assert rerun_id == workflow_id
    with RestWorkers(api, {name: greeting}):
        rerun = eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.status != "RUNNING")
    assert (rerun.status, rerun.input, rerun.output) == (
        "COMPLETED",
        {"name": "Flo"},
        {"greeting": "Hello, Flo!"},
    )
    assert tasks_of(rerun) == [("greet", "COMPLETED")]


def test_skip_a_task_then_delete_and_remove(api: str, clients: OrkesClients):
    """The SDK sends the SkipTaskRequest as one Python-repr query parameter; like Conductor OSS, Baton
    skips the task and ignores that parameter (python-sdk-wire.md §3)."""
    workflows = clients.get_workflow_client()
    name = unique("sdkskip")
    register_greeting(
        clients, name, simple(name, "greet", name="${workflow.input.name}"), simple(name, "second")
    )
    workflow_id = workflows.start_workflow(StartWorkflowRequest(name=name, input={"name": "Gus"}))
    eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.tasks)  # after the first decide
    skip = SkipTaskRequest(task_input={"in": 1}, task_output={"out": "given"})
    workflows.skip_task_from_workflow(workflow_id, "second", skip)
    with RestWorkers(api, {name: greeting}) as workers:
        done = eventually(lambda: workflows.get_workflow(workflow_id), lambda w: w.status != "RUNNING")
    assert (done.status, done.output) == ("COMPLETED", {"greeting": "Hello, Gus!"})
    assert tasks_of(done) == [("greet", "COMPLETED"), ("second", "SKIPPED")]
    assert [t["referenceTaskName"] for t in workers.handled] == ["greet"]

    workflows.delete_workflow(workflow_id, archive_workflow=True)  # ?archiveWorkflow=True, {} body
    running_id = workflows.start_workflow(StartWorkflowRequest(name=name, input={"name": "Hal"}))
    workflows.terminate_workflow(running_id)
    workflows.remove_workflow(running_id)
    for removed in (workflow_id, running_id):
        with pytest.raises(ApiException) as missing:
            workflows.get_workflow(removed)
        assert missing.value.status == 404


def test_search_and_correlation_lookups(clients: OrkesClients):
    workflows = clients.get_workflow_client()
    name = unique("sdksearch")
    register_greeting(clients, name)
    first = workflows.start_workflow(
        StartWorkflowRequest(name=name, input={"name": "Ida"}, correlation_id="k1")
    )
    second = workflows.start_workflow_by_name(name, {"name": "Jo"}, version=1, correlationId="k2", priority=7)
    workflows.terminate_workflow(first, reason="searched")

    page = eventually(
        lambda: workflows.search(start=0, size=10, free_text="*", query=f"workflowType = '{name}'"),
        lambda p: p is not None and len(p.results) == 2,
    )
    summaries = {summary.workflow_id: summary for summary in page.results}
    assert set(summaries) == {first, second}
    done, running = summaries[first], summaries[second]
    assert (done.workflow_type, done.version, done.status, done.correlation_id) == (
        name,
        1,
        "TERMINATED",
        "k1",
    )
    assert (done.reason_for_incompletion, json.loads(done.input)) == ("searched", {"name": "Ida"})
    assert done.end_time and done.start_time and isinstance(done.execution_time, int)
    assert (running.status, running.correlation_id, running.priority) == ("RUNNING", "k2", 7)
    assert (json.loads(running.input), json.loads(running.output), running.end_time) == (
        {"name": "Jo"},
        {},
        None,
    )

    by_correlation = workflows.get_by_correlation_ids(name, ["k1", "k2", "none"], include_completed=True)
    assert {key: [w.workflow_id for w in found] for key, found in by_correlation.items()} == {
        "k1": [first],
        "k2": [second],
        "none": [],
    }
    assert by_correlation["k1"][0].status == "TERMINATED"
    only_running = workflows.get_by_correlation_ids(name, ["k1", "k2"])
    assert {key: [w.workflow_id for w in found] for key, found in only_running.items()} == {
        "k1": [],
        "k2": [second],
    }
    workflows.terminate_workflow(second)


# -- WorkflowExecutor and the DSL -------------------------------------------------------------------------


def test_executor_execute_waits_for_a_rest_worker(
    api: str, clients: OrkesClients, executor: WorkflowExecutor
):
    name = unique("sdkexec")
    register_greeting(clients, name)

    with RestWorkers(api, {name: greeting}):
        run = executor.execute(
            name, 1, {"name": "Kay"}, wait_for_seconds=10, request_id="req-kay", correlation_id="c-kay"
        )  # ?requestId=req-kay&waitUntilTaskRef=None&waitForSeconds=10
    assert run is not None
    assert (run.status, run.output, run.input) == ("COMPLETED", {"greeting": "Hello, Kay!"}, {"name": "Kay"})
    assert (run.request_id, run.correlation_id) == ("req-kay", "c-kay")
    assert run.workflow_id
    assert [(t.reference_task_name, t.status, t.output_data) for t in run.tasks] == [
        ("greet", "COMPLETED", {"greeting": "Hello, Kay!"})
    ]
    assert is_epoch_ms(run.create_time) and is_epoch_ms(run.update_time)
    assert executor.get_workflow(run.workflow_id, include_tasks=False).status == "COMPLETED"


def test_executor_execute_answers_running_when_the_wait_ends(
    clients: OrkesClients, executor: WorkflowExecutor
):
    name = unique("sdkexecwait")
    register_greeting(clients, name)

    started = time.monotonic()
    run = executor.execute(name, 1, {"name": "Lu"}, wait_until_task_ref="greet", wait_for_seconds=1)
    assert time.monotonic() - started < 10
    assert (run.status, run.output, run.input) == ("RUNNING", {}, {"name": "Lu"})
    assert [(t.reference_task_name, t.status) for t in run.tasks] == [("greet", "SCHEDULED")]
    executor.terminate(run.workflow_id, reason="not waited for")


def greeting_workflow(executor: WorkflowExecutor, name: str) -> ConductorWorkflow:
    """SIMPLE greet → INLINE shout → SWITCH on the name, output from the first two (python-sdk-wire.md §4)."""
    workflow = ConductorWorkflow(executor=executor, name=name, version=1, description="builder")
    workflow.input_parameters(["name"])
    greet = SimpleTask(name, "greet")
    greet.input_parameters.update({"name": workflow.input("name")})
    shout = InlineTask(
        "shout", "(function () { return $.text.toUpperCase(); })()", {"text": greet.output("greeting")}
    )
    pick = (
        SwitchTask("pick", workflow.input("name"))
        .switch_case("Max", [InlineTask("vip", "(function () { return 'vip'; })()")])
        .default_case([InlineTask("guest", "(function () { return 'guest'; })()")])
    )
    workflow >> greet >> shout >> pick
    workflow.output_parameters({"greeting": greet.output("greeting"), "shout": shout.output("result")})
    return workflow


def test_conductor_workflow_register_start_and_execute(
    api: str, clients: OrkesClients, executor: WorkflowExecutor
):
    name = unique("sdkdsl")
    workflow = greeting_workflow(executor, name)

    workflow.register(overwrite=True)  # PUT /metadata/workflow?overwrite=True with [def]
    stored = clients.get_metadata_client().get_workflow_def(name)
    assert [(t.task_reference_name, t.type) for t in stored.tasks] == [
        ("greet", "SIMPLE"),
        ("shout", "INLINE"),
        ("pick", "SWITCH"),
    ]
    # the builder's timeoutSeconds 60 comes without a policy: ALERT_ONLY, so it never ends the workflow
    assert (stored.timeout_seconds, stored.timeout_policy, stored.failure_workflow) == (60, "ALERT_ONLY", "")

    with RestWorkers(api, {name: greeting}):
        workflow_id = workflow.start_workflow_with_input({"name": "Max"})  # inline workflowDef
        started = eventually(lambda: executor.get_workflow(workflow_id), lambda w: w.status != "RUNNING")
        run = workflow.execute({"name": "Ned"}, wait_for_seconds=10)  # /execute/{name}/1, waitUntilTaskRef=
    assert (started.status, started.output) == (
        "COMPLETED",
        {"greeting": "Hello, Max!", "shout": "HELLO, MAX!"},
    )
    assert tasks_of(started) == [
        ("greet", "COMPLETED"),
        ("shout", "COMPLETED"),
        ("pick", "COMPLETED"),
        ("vip", "COMPLETED"),
    ]
    assert (run.status, run.output) == ("COMPLETED", {"greeting": "Hello, Ned!", "shout": "HELLO, NED!"})
    assert [(t.reference_task_name, t.status) for t in run.tasks][-1] == ("guest", "COMPLETED")


def test_trailing_fork_without_join_fails_the_run_as_conductor_does(executor: WorkflowExecutor):
    """``wf >> [[a], [b]]`` as the last step emits a FORK_JOIN and no JOIN. Conductor registers it and
    fails the workflow when the fork is scheduled (REFERENCE §4.4); Baton does the same, with its message."""
    name = unique("sdkfork")
    workflow = ConductorWorkflow(executor=executor, name=name, version=1)
    workflow >> [[SimpleTask(name, "left")], [SimpleTask(name, "right")]]
    workflow.register(overwrite=True)

    run = workflow.execute({}, wait_for_seconds=10)
    assert run.status == "FAILED"
    failed = executor.get_workflow(run.workflow_id)
    assert "Fork task definition is not followed by a join task" in failed.reason_for_incompletion


# -- URL quirks -------------------------------------------------------------------------------------------


def test_a_trailing_slash_in_the_server_url_still_works(api: str):
    """``server_api_url`` ending in ``/`` makes the SDK send ``/api//workflow``; the server collapses it."""
    clients = OrkesClients(Configuration(server_api_url=f"{api}/"))
    name = unique("sdkslash")
    register_greeting(clients, name)
    assert clients.get_metadata_client().get_workflow_def(name).name == name
    workflows = clients.get_workflow_client()
    workflow_id = workflows.start_workflow_by_name(name, {"name": "Ole"}, version=1)
    assert workflows.get_workflow(workflow_id).workflow_id == workflow_id
    workflows.terminate_workflow(workflow_id)
