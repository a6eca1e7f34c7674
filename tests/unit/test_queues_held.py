"""Held sends: what a decider invocation sends for every workflow it decided goes out batched at the end."""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.model.wire import DeciderReason, TaskMessage
from batonflow.queues.sqs import Queues

NOW = 1_700_000_000_000


class RecordingSqs:
    """The SQS calls Queues makes, answered as SQS would; task queues already exist."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs/{QueueName}"}

    def send_message(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("SendMessage", params))
        return {}

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("SendMessageBatch", params))
        return {"Successful": [{"Id": entry["Id"]} for entry in params["Entries"]]}


def _queues() -> tuple[Queues, RecordingSqs]:
    sqs = RecordingSqs()
    queues = Queues(
        sqs, queue_prefix="p-", decider_queue_url="https://sqs/d.fifo", timer_queue_url="https://sqs/t"
    )
    return queues, sqs


def _task(n: int, *, task_type: str = "work", body: str = "") -> tuple[TaskMessage, int]:
    message = TaskMessage(
        workflowInstanceId=f"wf-{n}",
        taskId=f"task-{n}",
        taskType=task_type,
        taskDefName=task_type,
        referenceTaskName="step",
        inputData={"body": body} if body else {},
    )
    return message, 0


def test_sends_of_several_decides_go_out_in_one_batch_per_queue_when_the_block_ends() -> None:
    queues, sqs = _queues()
    with queues.held():
        for n in range(3):
            queues.send_tasks([_task(n)], now=NOW)
        queues.send_tasks([_task(3, task_type="other")], now=NOW)
        queues.wake_workflows(["wf-9"], DeciderReason.TASK)
        assert sqs.calls == []

    assert [(name, params["QueueUrl"]) for name, params in sqs.calls] == [
        ("SendMessageBatch", "https://sqs/p-task-work"),
        ("SendMessage", "https://sqs/p-task-other"),
        ("SendMessage", "https://sqs/d.fifo"),
    ]
    batch = sqs.calls[0][1]["Entries"]
    assert [entry["Id"] for entry in batch] == ["0", "1", "2"]
    assert [TaskMessage.model_validate_json(entry["MessageBody"]).task_id for entry in batch] == [
        "task-0",
        "task-1",
        "task-2",
    ]


def test_nothing_is_sent_when_the_block_fails() -> None:
    queues, sqs = _queues()
    with pytest.raises(RuntimeError), queues.held():
        queues.send_tasks([_task(1)], now=NOW)
        raise RuntimeError("the handler failed: its batch comes back")
    assert sqs.calls == []
    queues.send_tasks([_task(2)], now=NOW)  # and sends are no longer held
    assert len(sqs.calls) == 1


def test_a_nested_block_sends_with_the_outer_one() -> None:
    queues, sqs = _queues()
    with queues.held():
        with queues.held():
            queues.send_tasks([_task(1)], now=NOW)
        assert sqs.calls == []
        queues.send_tasks([_task(2)], now=NOW)
    assert [name for name, _ in sqs.calls] == ["SendMessageBatch"]


def test_batches_hold_at_most_ten_messages_and_256_kb() -> None:
    queues, sqs = _queues()
    with queues.held():
        queues.send_tasks([_task(n) for n in range(12)], now=NOW)
        queues.send_tasks([_task(n, task_type="big", body="x" * 100_000) for n in range(3)], now=NOW)
    sizes = [
        (params["QueueUrl"].rsplit("-", 1)[1], len(params.get("Entries", [params])))
        for _, params in sqs.calls
    ]
    assert sizes == [("work", 10), ("work", 2), ("big", 2), ("big", 1)]


def test_what_waits_for_the_sends_runs_after_them_or_at_once_when_nothing_is_held() -> None:
    queues, sqs = _queues()
    seen: list[int] = []
    with queues.held():
        queues.send_tasks([_task(1)], now=NOW)
        queues.after_sends(lambda: seen.append(len(sqs.calls)))
        assert seen == []

    queues.after_sends(lambda: seen.append(len(sqs.calls)))
    assert seen == [1, 1]  # the held send went first; unheld, at once


def test_what_waits_for_the_sends_does_not_run_when_they_fail() -> None:
    queues, sqs = _queues()
    seen: list[str] = []

    def refuse(**params: Any) -> dict[str, Any]:
        raise ConnectionError("SQS is unreachable")

    sqs.send_message = refuse  # type: ignore[method-assign]
    with pytest.raises(ConnectionError), queues.held():
        queues.send_tasks([_task(1)], now=NOW)
        queues.after_sends(lambda: seen.append("confirmed"))

    assert seen == []
