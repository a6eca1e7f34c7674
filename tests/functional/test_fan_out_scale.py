"""A dynamic fork of thousands of branches costs the decider O(1) DynamoDB reads per branch event.

Each run counts, with botocore hooks on the engine's DynamoDB client, the items every decide reads (Query,
GetItem, BatchGetItem). Only the decide that completes the JOIN reads every branch (its output is the map of
all branch outputs); every other decide reads a small, constant number of items, the same for 200 branches
as for 2,000.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import pytest

from batonflow.model.wire import ResultMessage, TaskMessage
from batonflow.service import deciding
from tests.support.stack import Harness, moto_harness

WORKFLOW = {
    "name": "fan_out",
    "version": 1,
    "schemaVersion": 2,
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN_DYNAMIC",
            "inputParameters": {"forkTaskName": "leaf", "forkTaskInputs": "${workflow.input.items}"},
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"},
        {
            "name": "total",
            "taskReferenceName": "total",
            "type": "INLINE",
            "inputParameters": {
                "evaluatorType": "javascript",
                "outputs": "${join.output}",
                "expression": "var n = 0; for (var k in $.outputs) { n += $.outputs[k].doubled; } n;",
            },
        },
    ],
    "outputParameters": {"total": "${total.output.result}"},
}


@dataclass
class ReadCounter:
    """Items read from DynamoDB, bucketed per decider invocation."""

    current: int = 0
    per_decide: list[int] = field(default_factory=list)

    def after_call(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            self.current += parsed.get("ScannedCount", parsed.get("Count", 0))
        elif model.name == "GetItem":
            self.current += 1 if parsed.get("Item") else 0
        elif model.name == "BatchGetItem":
            self.current += sum(len(items) for items in parsed.get("Responses", {}).values())


def run_fan_out(harness: Harness, monkeypatch: pytest.MonkeyPatch, branches: int) -> tuple[dict, ReadCounter]:
    counter = ReadCounter()
    harness.runtime.executions._client.meta.events.register("after-call.dynamodb", counter.after_call)
    real_run_decide = deciding.run_decide

    def counted_run_decide(*args: Any, **kwargs: Any) -> Any:
        counter.current = 0
        try:
            return real_run_decide(*args, **kwargs)
        finally:
            counter.per_decide.append(counter.current)

    # decides run in the decider and where results are applied (the complete function)
    monkeypatch.setattr(harness.handlers["decider"], "run_decide", counted_run_decide)
    monkeypatch.setattr(deciding, "run_decide", counted_run_decide)
    assert harness.api("POST", "/api/metadata/workflow", WORKFLOW).status == 200
    items = [{"n": i} for i in range(branches)]
    workflow_id = harness.api("POST", "/api/workflow/fan_out", {"items": items}).text
    harness.pump()
    # the workers' side: take the leaf tasks from their queue ten at a time, as a worker would (the
    # emulator's indexed SQS receives at the same cost from a queue of 2,000 as of 20), answer each batch
    sqs = harness.runtime.sqs
    leaf_url = harness.runtime.queues.task_queue_url("leaf")
    results_url = harness.queue_url("ResultsQueue")
    done = 0
    while batch := sqs.receive_message(QueueUrl=leaf_url, MaxNumberOfMessages=10).get("Messages", []):
        tasks = [TaskMessage.model_validate_json(message["Body"]) for message in batch]
        entries = [
            {
                "Id": str(index),
                "MessageBody": ResultMessage(
                    workflowInstanceId=workflow_id,
                    taskId=task.task_id,
                    status="COMPLETED",
                    outputData={"doubled": 2 * task.input_data["n"]},
                ).to_json(),
            }
            for index, task in enumerate(tasks)
        ]
        sqs.send_message_batch(QueueUrl=results_url, Entries=entries)
        receipts = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=leaf_url, Entries=receipts)
        done += len(batch)
        harness.pump()
    assert done == branches
    execution = harness.api("GET", f"/api/workflow/{workflow_id}?includeTasks=false").json()
    return execution, counter


def fan_out(monkeypatch: pytest.MonkeyPatch, branches: int) -> tuple[dict, ReadCounter]:
    with monkeypatch.context() as patch, moto_harness(patch) as harness:
        return run_fan_out(harness, patch, branches)


@pytest.mark.timeout(600)
def test_items_read_per_decide_do_not_grow_with_the_number_of_branches(monkeypatch: pytest.MonkeyPatch):
    results = {branches: fan_out(monkeypatch, branches) for branches in (200, 2000)}

    for branches, (execution, counter) in results.items():
        assert execution["status"] == "COMPLETED", execution.get("reasonForIncompletion")
        assert execution["output"] == {"total": branches * (branches - 1)}
        reads = sorted(counter.per_decide)
        # one decide completes the JOIN and reads every branch; all others read a bounded handful
        assert reads[-1] >= branches
        assert reads[-2] <= 40, reads[-10:]
        # O(N) in all, not O(N^2): a few items per branch
        assert sum(reads) <= 12 * branches, sum(reads)

    small, large = (sorted(results[n][1].per_decide)[:-1] for n in (200, 2000))
    assert max(large) <= max(small) + 8
    assert statistics.median(large) <= statistics.median(small) + 2
