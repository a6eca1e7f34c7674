"""HTTP and EVENT tasks through the real handlers on moto: queued like worker tasks, run by the
system-task function, results applied and the decider woken.

HTTP calls go to a stdlib server on 127.0.0.1 in a thread (no internet here); EVENT publishes to moto SQS
queues the tests create and read back.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from batonflow.model import TaskStatus
from batonflow.model.wire import task_queue_name
from tests.support.stack import REGION, Harness, context

SLOW_RELEASE_S = 5


class Server:
    """Answers by path; records every request. ``/slow`` answers only when released (or after 5 s)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                server.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                hits = sum(1 for r in server.requests if r["path"] == self.path)
                status, content_type, text = server.route(self.path, hits)
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("X-Trace", "a")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)  # fails when the client timed out first (read timeout)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, path: str, hits: int) -> tuple[int, str, str]:
        if path == "/json":
            return 200, "application/json", json.dumps({"ok": True, "items": [1, 2]})
        if path == "/number":
            return 200, "application/json", "42"
        if path == "/text":
            return 200, "text/plain; charset=utf-8", "plain words"
        if path == "/echo":
            return 201, "application/json", json.dumps(self.requests[-1])
        if path == "/flaky":
            return (503, "text/plain", "warming up") if hits == 1 else (200, "application/json", "{}")
        if path == "/slow":
            self.release.wait(SLOW_RELEASE_S)
            return 200, "application/json", "{}"
        return 404, "text/plain", "no such thing"

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"] == path)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    thread = threading.Thread(target=running.httpd.serve_forever, daemon=True)
    thread.start()
    yield running
    running.release.set()
    running.httpd.shutdown()
    running.httpd.server_close()


def http_task(ref: str, request: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": extra.pop("name", ref),
        "taskReferenceName": ref,
        "type": "HTTP",
        "inputParameters": {"http_request": request},
        **extra,
    }


def run(harness: Harness, tasks: list[dict[str, Any]], workflow_input: dict[str, Any] | None = None) -> dict:
    name = f"wf_{tasks[0]['taskReferenceName']}"
    definition = {"name": name, "version": 1, "tasks": tasks, "outputParameters": {}}
    registered = harness.api("PUT", "/api/metadata/workflow", [definition])
    assert registered.status == 200, registered.text
    started = harness.api("POST", f"/api/workflow/{name}", workflow_input or {})
    assert started.status == 200, started.text
    harness.pump()
    return execution(harness, started.text)


def execution(harness: Harness, workflow_id: str) -> dict:
    response = harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=true")
    assert response.status == 200
    return response.json()


def task(workflow: dict, ref: str) -> dict:
    return [t for t in workflow["tasks"] if t["referenceTaskName"] == ref][-1]


# --- HTTP ------------------------------------------------------------------------------------------


def test_a_get_completes_with_conductors_response_shape(harness: Harness, server: Server) -> None:
    workflow = run(
        harness,
        [
            http_task("get", {"uri": f"{server.url}/json", "method": "GET"}),
            {"name": "after", "taskReferenceName": "after", "type": "SET_VARIABLE",
             "inputParameters": {"seen": "${get.output.response.body.items}"}},
        ],
    )  # fmt: skip

    get = task(workflow, "get")
    assert workflow["status"] == "COMPLETED"
    assert (get["status"], get["taskType"], get["workerId"]) == ("COMPLETED", "HTTP", "system_tasks")
    response = get["outputData"]["response"]
    assert (response["statusCode"], response["reasonPhrase"]) == (200, "OK")
    assert response["body"] == {"ok": True, "items": [1, 2]}
    assert response["headers"]["X-Trace"] == ["a"]
    assert get["inputData"]["asyncComplete"] is False
    assert workflow["variables"] == {"seen": [1, 2]}
    assert server.requests[-1]["headers"]["Accept"] == "application/json"


def test_request_keys_may_sit_at_the_top_of_the_input(harness: Harness, server: Server) -> None:
    workflow = run(
        harness,
        [
            {
                "name": "flat",
                "taskReferenceName": "flat",
                "type": "HTTP",
                "inputParameters": {"uri": f"{server.url}/number", "method": "get"},
            }
        ],
    )

    body = task(workflow, "flat")["outputData"]["response"]["body"]
    assert body == 42.0 and isinstance(body, float)


def test_a_post_sends_body_headers_and_media_types(harness: Harness, server: Server) -> None:
    request = {
        "uri": f"{server.url}/echo",
        "method": "POST",
        "body": {"id": "${workflow.input.id}", "n": 3},
        "headers": {"X-Id": "${workflow.input.id}", "X-Flag": True, "X-None": None},
        "accept": ["application/json", "text/plain"],
    }
    workflow = run(harness, [http_task("post", request)], {"id": "o-1"})

    received = server.requests[-1]
    assert task(workflow, "post")["outputData"]["response"]["statusCode"] == 201
    assert received["method"] == "POST"
    assert json.loads(received["body"]) == {"id": "o-1", "n": 3}
    assert received["headers"]["X-Id"] == "o-1"
    assert received["headers"]["X-Flag"] == "true"
    assert "X-None" not in received["headers"]
    assert received["headers"]["Accept"] == "application/json, text/plain"
    assert received["headers"]["Content-Type"] == "application/json"


def test_a_404_fails_the_task_and_the_workflow_with_the_status_in_the_reason(
    harness: Harness, server: Server
) -> None:
    workflow = run(harness, [http_task("missing", {"uri": f"{server.url}/nowhere", "method": "GET"})])

    missing = task(workflow, "missing")
    assert (workflow["status"], missing["status"]) == ("FAILED", "FAILED")
    expected = 'java.lang.Exception: 404 Not Found: "no such thing"'
    assert missing["reasonForIncompletion"] == f"Failed to invoke HTTP task due to: {expected}"
    assert missing["outputData"] == {"response": expected}


def test_a_read_timeout_fails_the_task(harness: Harness, server: Server) -> None:
    request = {"uri": f"{server.url}/slow", "method": "GET", "readTimeOut": 200, "connectionTimeOut": 1000}
    workflow = run(harness, [http_task("slow", request)])

    slow = task(workflow, "slow")
    assert slow["status"] == "FAILED"
    assert slow["reasonForIncompletion"] == (
        "Failed to invoke HTTP task due to: java.lang.Exception: "
        f'I/O error on GET request for "{server.url}/slow": Read timed out'
    )
    server.release.set()


def test_a_refused_connection_fails_the_task(harness: Harness) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/x"

    workflow = run(harness, [http_task("refused", {"uri": closed, "method": "GET"})])

    refused = task(workflow, "refused")
    assert refused["status"] == "FAILED"
    reason = refused["reasonForIncompletion"]
    # urllib3's own text follows (its wording varies between versions)
    assert reason.startswith(
        f'Failed to invoke HTTP task due to: java.lang.Exception: I/O error on GET request for "{closed}": '
    )
    assert reason.endswith("Connection refused")
    assert "object at 0x" not in reason


def test_retries_follow_the_task_def_named_like_the_task(harness: Harness, server: Server) -> None:
    task_def = {"name": "flaky_call", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 10}
    assert harness.api("POST", "/api/metadata/taskdefs", [task_def]).status == 200

    workflow = run(
        harness, [http_task("flaky", {"uri": f"{server.url}/flaky", "method": "GET"}, name="flaky_call")]
    )

    attempts = [(t["retryCount"], t["status"]) for t in workflow["tasks"]]
    assert attempts == [(0, "FAILED"), (1, "COMPLETED")]
    assert "503 Service Unavailable" in workflow["tasks"][0]["reasonForIncompletion"]
    assert workflow["status"] == "COMPLETED"
    assert server.hits("/flaky") == 2


def test_async_complete_waits_in_progress_for_an_update(harness: Harness, server: Server) -> None:
    request = {"uri": f"{server.url}/json", "method": "GET"}
    workflow = run(harness, [http_task("held", request, asyncComplete=True)])

    held = task(workflow, "held")
    assert (workflow["status"], held["status"]) == ("RUNNING", "IN_PROGRESS")
    assert held["outputData"]["response"]["statusCode"] == 200
    update = {
        "workflowInstanceId": workflow["workflowId"],
        "taskId": held["taskId"],
        "status": "COMPLETED",
        "outputData": {"confirmed": True},
    }
    assert harness.api("POST", "/api/tasks", update).status == 200
    harness.pump()
    assert execution(harness, workflow["workflowId"])["status"] == "COMPLETED"


def sqs_event(harness: Harness, queue_logical_id: str, body: str, receive_count: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{receive_count}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": harness.stack.resources[queue_logical_id].attributes["Arn"],
                "awsRegion": REGION,
            }
        ]
    }


def test_a_redelivered_message_does_not_call_twice(harness: Harness, server: Server) -> None:
    definition = {
        "name": "once",
        "version": 1,
        "tasks": [http_task("once", {"uri": f"{server.url}/text", "method": "GET"})],
    }
    assert harness.api("PUT", "/api/metadata/workflow", [definition]).status == 200
    workflow_id = harness.api("POST", "/api/workflow/once", {}).text
    harness.pump("decider")
    queue_url = harness.runtime.queues.task_queue_url("HTTP")
    [message] = harness.receive_all(queue_url)
    system_tasks = harness.handlers["system_tasks"]
    before = server.hits("/text")

    for receive_count in (1, 2, 1):
        event = sqs_event(harness, "HttpTaskQueue", message["Body"], receive_count)
        assert system_tasks.handler(event, context("system_tasks")) == {"batchItemFailures": []}
    harness.pump()

    assert server.hits("/text") == before + 1
    workflow = execution(harness, workflow_id)
    assert workflow["status"] == "COMPLETED"
    assert task(workflow, "once")["outputData"]["response"]["body"] == "plain words"


def test_an_attempt_abandoned_mid_call_is_run_again_on_redelivery(harness: Harness, server: Server) -> None:
    definition = {
        "name": "again",
        "version": 1,
        "tasks": [http_task("again", {"uri": f"{server.url}/json", "method": "GET"})],
    }
    assert harness.api("PUT", "/api/metadata/workflow", [definition]).status == 200
    workflow_id = harness.api("POST", "/api/workflow/again", {}).text
    harness.pump("decider")
    [message] = harness.receive_all(harness.runtime.queues.task_queue_url("HTTP"))
    scheduled = task(execution(harness, workflow_id), "again")
    stored = harness.runtime.executions.get_task(workflow_id, scheduled["taskId"])
    leased = stored.model_copy(update={"status": TaskStatus.IN_PROGRESS, "worker_id": "system_tasks"})
    assert harness.runtime.executions.lease_task(leased, wake_at=None)  # the delivery that died mid-call
    system_tasks = harness.handlers["system_tasks"]

    first = sqs_event(harness, "HttpTaskQueue", message["Body"], 1)
    system_tasks.handler(first, context("system_tasks"))
    assert task(execution(harness, workflow_id), "again")["status"] == "IN_PROGRESS"

    system_tasks.handler(sqs_event(harness, "HttpTaskQueue", message["Body"], 2), context("system_tasks"))
    harness.pump()
    assert execution(harness, workflow_id)["status"] == "COMPLETED"


# --- EVENT -----------------------------------------------------------------------------------------


def event_task(ref: str, sink: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": ref,
        "taskReferenceName": ref,
        "type": "EVENT",
        "sink": sink,
        "inputParameters": {"order": "${workflow.input.order}", "qty": 2},
        **extra,
    }


def test_an_event_publishes_its_payload_to_the_sqs_queue(harness: Harness) -> None:
    url = harness.runtime.sqs.create_queue(QueueName="orders")["QueueUrl"]

    workflow = run(harness, [event_task("notify", "sqs:orders")], {"order": "o-7"})

    notify = task(workflow, "notify")
    [message] = harness.receive_all(url)
    body = json.loads(message["Body"])
    assert (workflow["status"], notify["status"], notify["taskType"]) == ("COMPLETED", "COMPLETED", "EVENT")
    assert notify["inputData"] == {"order": "o-7", "qty": 2, "sink": "sqs:orders", "asyncComplete": False}
    assert body == {
        "order": "o-7",
        "qty": 2,
        "sink": "sqs:orders",
        "asyncComplete": False,
        "workflowInstanceId": workflow["workflowId"],
        "workflowType": "wf_notify",
        "workflowVersion": 1,
        "correlationId": None,
        "taskToDomain": {},
        "event_produced": "sqs:orders",
    }
    assert notify["outputData"] == body


def test_a_fifo_sink_groups_by_workflow_and_deduplicates_by_task(harness: Harness) -> None:
    url = harness.runtime.sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]

    workflow = run(harness, [event_task("fifo", "sqs:orders.fifo")], {"order": "o-8"})

    [message] = harness.receive_all(url)
    assert message["Attributes"]["MessageGroupId"] == workflow["workflowId"]
    assert message["Attributes"]["MessageDeduplicationId"] == task(workflow, "fifo")["taskId"]


def test_an_event_to_a_missing_queue_fails(harness: Harness) -> None:
    workflow = run(harness, [event_task("lost", "sqs:no-such-queue")], {"order": "o-9"})

    lost = task(workflow, "lost")
    assert (workflow["status"], lost["status"]) == ("FAILED", "FAILED")
    assert (
        lost["reasonForIncompletion"]
        == "Error publishing to sqs:no-such-queue: queue no-such-queue does not exist"
    )


def test_a_sink_resolved_to_something_unsupported_fails_the_task(harness: Harness) -> None:
    workflow = run(harness, [event_task("odd", "sqs:${workflow.input.queue}")], {"queue": ""})

    odd = task(workflow, "odd")
    assert (odd["status"], odd["inputData"]["sink"]) == ("FAILED", "sqs:")
    assert odd["reasonForIncompletion"] == (
        "Unsupported sink: sqs:. EVENT tasks publish to sqs:<queue name> only"
    )


@pytest.mark.parametrize(
    "sink", ["conductor", "conductor:orders", "kafka:orders", "sqs:", "${workflow.input.s}"]
)
def test_sinks_other_than_sqs_are_refused_at_registration(harness: Harness, sink: str) -> None:
    definition = {"name": "bad_sink", "version": 1, "tasks": [event_task("e", sink)]}

    response = harness.api("PUT", "/api/metadata/workflow", [definition])

    assert response.status == 400
    assert [e["message"] for e in response.json()["validationErrors"]] == [
        f"sink: {sink} is not supported for taskType: EVENT taskName: e; use sqs:<queue name>"
    ]


def test_system_task_queues_are_the_ones_the_decider_dispatches_to(harness: Harness) -> None:
    prefix = harness.runtime.settings.queue_prefix
    assert harness.runtime.queues.task_queue_url("HTTP") == harness.queue_url("HttpTaskQueue")
    assert harness.runtime.queues.task_queue_url("EVENT") == harness.queue_url("EventTaskQueue")
    assert harness.queue_url("HttpTaskQueue").endswith(task_queue_name(prefix, "HTTP"))
