"""Logs, metrics and the template's alarms: what an operator sees, through the real handlers on moto.

Log lines are read from the Powertools handler every function logs through (its stream is swapped for a
buffer), metrics from the EMF lines the handlers print at the end of an invocation.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from batonflow import metrics
from batonflow.bench.cold_import import HANDLER_ENVIRONMENT
from batonflow.handlers import observability
from batonflow.infra import load_template
from batonflow.metrics import Metric
from batonflow.model.wire import ResultMessage
from batonflow.store.errors import ConflictError
from tests.support.stack import Harness, context, moto_harness

INPUT_MARKER = "in-7f3a-do-not-log"
OUTPUT_MARKER = "out-9c1e-do-not-log"
SECOND_OUTPUT_MARKER = "out-52b8-do-not-log"

TASK_DEFS = [
    {"name": "obs_first", "retryCount": 0, "responseTimeoutSeconds": 30},
    {"name": "obs_second", "retryCount": 0, "responseTimeoutSeconds": 5},
]
WORKFLOW = {
    "name": "observed",
    "version": 1,
    "tasks": [
        {"name": "obs_first", "taskReferenceName": "first", "inputParameters": {"v": "${workflow.input.v}"}},
        {"name": "obs_second", "taskReferenceName": "second", "inputParameters": {"v": "${first.output.v}"}},
    ],
    "outputParameters": {"first": "${first.output.v}", "second": "${second.output.v}"},
}


class LogLines:
    """The JSON lines the functions logged since the fixture started."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    @property
    def raw(self) -> list[str]:
        return [line for line in self._buffer.getvalue().splitlines() if line.strip()]

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw]

    def with_message(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.parsed() if line.get("message") == message]


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[LogLines]:
    buffer = io.StringIO()
    for handler in observability.logger.handlers:
        monkeypatch.setattr(handler, "stream", buffer)
    yield LogLines(buffer)


@pytest.fixture
def emf(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Sums of the metric values the handlers published (EMF lines on stdout) from here on."""
    metrics.drain()  # what direct service calls of earlier tests counted is not this test's

    def published() -> Counter[str]:
        totals: Counter[str] = Counter()
        for line in capsys.readouterr().out.splitlines():
            if not line.startswith("{"):
                continue
            document = json.loads(line)
            if "_aws" not in document:
                continue
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"].startswith("Baton")
            assert directive["Dimensions"] == [["service"]]
            for definition in directive["Metrics"]:
                assert definition["Unit"] == "Count"
                values = document[definition["Name"]]
                totals[definition["Name"]] += int(sum(values) if isinstance(values, list) else values)
        return totals

    yield published


def _register(harness: Harness) -> None:
    assert harness.api("POST", "/api/metadata/taskdefs", TASK_DEFS).status == 200
    assert harness.api("POST", "/api/metadata/workflow", WORKFLOW).status == 200


def _start(harness: Harness) -> str:
    response = harness.api("POST", "/api/workflow/observed", {"v": INPUT_MARKER})
    assert response.status == 200, response.text
    harness.pump()
    return response.text


def _poll(harness: Harness, task_type: str) -> dict[str, Any]:
    response = harness.api("GET", f"/api/tasks/poll/batch/{task_type}?count=1&timeout=100&workerid=w1")
    assert response.status == 200
    (task,) = response.json()
    return task


def _report_rest(harness: Harness, task: dict[str, Any], status: str, output: dict[str, Any]) -> None:
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": status,
        "outputData": output,
        "workerId": "w1",
    }
    assert harness.api("POST", "/api/tasks", body).status == 200
    harness.pump()


def _report_sqs(harness: Harness, task: dict[str, Any], output: dict[str, Any]) -> None:
    """An SQS-native worker's result: CompleteFunction applies it."""
    result = ResultMessage(
        workflowInstanceId=task["workflowInstanceId"],
        taskId=task["taskId"],
        status="COMPLETED",
        outputData=output,
        workerId="sqs-worker",
    )
    harness.runtime.sqs.send_message(QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=result.to_json())
    harness.pump()


def _run_to_completion(harness: Harness) -> tuple[str, dict[str, Any], dict[str, Any]]:
    _register(harness)
    workflow_id = _start(harness)
    first = _poll(harness, "obs_first")
    _report_rest(harness, first, "COMPLETED", {"v": OUTPUT_MARKER})
    second = _poll(harness, "obs_second")
    _report_sqs(harness, second, {"v": SECOND_OUTPUT_MARKER})
    workflow = harness.api("GET", f"/api/workflow/{workflow_id}").json()
    assert workflow["status"] == "COMPLETED"
    assert workflow["output"] == {"first": OUTPUT_MARKER, "second": SECOND_OUTPUT_MARKER}
    return workflow_id, first, second


def test_a_completed_task_logs_its_ids_and_status_as_json_fields_and_no_payload(
    monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
):
    with moto_harness(monkeypatch) as harness:
        workflow_id, first, second = _run_to_completion(harness)

    finished = {line["taskId"]: line for line in log_lines.with_message("task finished")}
    assert set(finished) == {first["taskId"], second["taskId"]}
    for task, function in ((first, "api"), (second, "complete")):
        line = finished[task["taskId"]]
        assert line["workflowId"] == workflow_id
        assert line["status"] == "COMPLETED"
        assert line["taskType"] == task["taskType"]
        assert line["level"] == "INFO"
        assert line["function_name"] == function  # a Lambda's line, with its context
        assert "outputData" not in line
    [started] = log_lines.with_message("workflow started")
    assert started["workflowId"] == workflow_id and "input" not in started
    [ended] = log_lines.with_message("workflow ended")
    assert (ended["workflowId"], ended["status"]) == (workflow_id, "COMPLETED")
    assert "output" not in ended
    for line in log_lines.raw:
        for marker in (INPUT_MARKER, OUTPUT_MARKER, SECOND_OUTPUT_MARKER):
            assert marker not in line


def test_payload_logging_is_a_template_switch(monkeypatch: pytest.MonkeyPatch, log_lines: LogLines):
    with moto_harness(monkeypatch, parameters={"LogPayloads": "true"}) as harness:
        _, first, second = _run_to_completion(harness)

    finished = {line["taskId"]: line for line in log_lines.with_message("task finished")}
    assert finished[first["taskId"]]["outputData"] == {"v": OUTPUT_MARKER}
    assert finished[second["taskId"]]["outputData"] == {"v": SECOND_OUTPUT_MARKER}
    [started] = log_lines.with_message("workflow started")
    assert started["input"] == {"v": INPUT_MARKER}
    [ended] = log_lines.with_message("workflow ended")
    assert ended["output"] == {"first": OUTPUT_MARKER, "second": SECOND_OUTPUT_MARKER}


def test_a_handler_working_on_one_task_puts_its_ids_on_every_line_it_logs(
    monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
):
    with moto_harness(monkeypatch) as harness:
        workflow_id, _, _ = _run_to_completion(harness)
        stray = ResultMessage(workflowInstanceId=workflow_id, taskId="no-such-task", status="COMPLETED")
        harness.runtime.sqs.send_message(
            QueueUrl=harness.queue_url("ResultsQueue"), MessageBody=stray.to_json()
        )
        harness.pump()
        harness.api("GET", f"/api/workflow/{workflow_id}")

    # the warning names neither id itself: they are the correlation keys of the record being handled
    [dropped] = [line for line in log_lines.parsed() if line["message"].startswith("dropping a result")]
    assert (dropped["workflowId"], dropped["taskId"]) == (workflow_id, "no-such-task")
    assert dropped["function_name"] == "complete" and dropped["level"] == "WARNING"
    # and they are gone once that record is done: the decide that follows a result does not carry them
    with_task_id = [line["message"] for line in log_lines.parsed() if "taskId" in line]
    assert with_task_id == ["task finished", "task finished", dropped["message"]]
    [ended] = log_lines.with_message("workflow ended")  # decided where the last result was applied
    assert ended["function_name"] == "complete" and ended["workflowId"] == workflow_id


def test_completed_and_failed_workflows_are_counted(monkeypatch: pytest.MonkeyPatch, emf: Any):
    with moto_harness(monkeypatch) as harness:
        _run_to_completion(harness)
        failing = _start(harness)
        _report_rest(harness, _poll(harness, "obs_first"), "FAILED", {})
        assert harness.api("GET", f"/api/workflow/{failing}").json()["status"] == "FAILED"

    assert emf() == {
        Metric.WORKFLOWS_STARTED: 2,
        Metric.WORKFLOWS_COMPLETED: 1,
        Metric.WORKFLOWS_FAILED: 1,
        Metric.TASKS_SCHEDULED: 3,
        Metric.TASKS_COMPLETED: 2,
        Metric.TASKS_FAILED: 1,
    }


def test_timeouts_sweeper_repairs_and_decider_retries_are_counted(monkeypatch: pytest.MonkeyPatch, emf: Any):
    with moto_harness(monkeypatch) as harness:
        sweeper = importlib.import_module("batonflow.handlers.sweeper")  # its import reads the stack's env
        monkeypatch.setattr(sweeper, "runtime", harness.runtime)
        _register(harness)
        workflow_id = _start(harness)
        _report_rest(harness, _poll(harness, "obs_first"), "COMPLETED", {"v": 1})
        _poll(harness, "obs_second")
        harness.receive_all(harness.queue_url("TimerQueue"))  # the response-timeout timer is lost
        emf()

        harness.clock.advance(5 + 61)
        assert sweeper.handler({}, context("sweeper")) == {"woken": 1}
        assert emf() == {Metric.SWEEPER_REPAIRS: 1}
        harness.pump()

        assert harness.api("GET", f"/api/workflow/{workflow_id}").json()["status"] == "TIMED_OUT"
    # the sweeper's wake-up is a repeated decide; it times the attempt out, which (no retries left) times
    # the workflow out
    assert emf() == {
        Metric.DECIDER_RETRIES: 1,
        Metric.TASKS_TIMED_OUT: 1,
        Metric.WORKFLOWS_TIMED_OUT: 1,
    }


def test_a_decide_that_loses_a_race_is_counted_as_a_conflict(monkeypatch: pytest.MonkeyPatch, emf: Any):
    with moto_harness(monkeypatch) as harness:
        _register(harness)
        executions = harness.runtime.executions
        commit = executions.commit
        lost: list[bool] = []

        def lose_once(*args: Any, **kwargs: Any) -> frozenset[str]:
            if not lost:
                lost.append(True)
                raise ConflictError("another decide committed first")
            return commit(*args, **kwargs)

        _start(harness)  # its first decide is part of the start, which no other decide can race
        first = _poll(harness, "obs_first")
        emf()
        monkeypatch.setattr(executions, "commit", lose_once)
        _report_rest(harness, first, "COMPLETED", {"v": 1})

    # the update's decide loses and leaves the workflow to the decider, which schedules the next task
    assert emf() == {Metric.TASKS_COMPLETED: 1, Metric.DECIDER_CONFLICTS: 1, Metric.TASKS_SCHEDULED: 1}


def test_an_invocation_that_counted_nothing_prints_no_metrics(monkeypatch: pytest.MonkeyPatch, emf: Any):
    with moto_harness(monkeypatch) as harness:
        assert harness.api("GET", "/health").status == 200

    assert emf() == {}


@pytest.mark.parametrize(("disabled", "imports_xray"), [("true", False), ("false", True)])
def test_the_xray_sdk_is_imported_only_when_tracing_is_on(disabled: str, imports_xray: bool):
    """Creating a Powertools Tracer imports the X-Ray SDK, some 200 ms of cold start."""
    environment = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV")},
        **HANDLER_ENVIRONMENT,
        "POWERTOOLS_TRACE_DISABLED": disabled,
    }
    probe = "import sys, batonflow.handlers.sweeper; print('aws_xray_sdk' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == str(imports_xray)


def test_the_alarms_watch_every_dead_letter_queue_the_decider_and_the_sweeper():
    template = load_template()
    resources = template.resources
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {
        (props["Namespace"] if isinstance(props["Namespace"], str) else "stack", props["MetricName"]): [
            d["Value"] for d in props["Dimensions"]
        ]
        for props in alarms.values()
    }
    dead_letter_queues = {
        r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    }
    dlq_alarms = [
        props["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for props in alarms.values()
        if props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert sorted(dlq_alarms) == sorted(dead_letter_queues)
    assert watched[("AWS/Lambda", "Errors")] == [{"Ref": "DeciderFunction"}]
    assert watched[("stack", Metric.SWEEPER_REPAIRS)] == ["baton"]
    globals_env = template.document["Globals"]["Function"]["Environment"]["Variables"]
    sweeper_alarm = next(p for p in alarms.values() if p["MetricName"] == Metric.SWEEPER_REPAIRS)
    assert sweeper_alarm["Namespace"] == globals_env["POWERTOOLS_METRICS_NAMESPACE"]
    assert globals_env["POWERTOOLS_SERVICE_NAME"] == "baton"  # the dimension the alarm names
    for props in alarms.values():
        assert props["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }


def test_the_dashboard_names_only_metrics_the_functions_publish():
    body = load_template().resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(body)
    published = {metric.value for metric in Metric}
    named = set()
    for widget in dashboard["widgets"]:
        namespace = None
        for row in widget["properties"]["metrics"]:
            if row[0] != ".":
                namespace = row[0] if row[0] != "..." else namespace
            if namespace == "Baton/${AWS::StackName}" and row[0] != "...":
                named.add(row[1])
    assert named
    assert named <= published
