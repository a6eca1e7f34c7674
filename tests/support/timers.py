"""The timer queue's delivery delay on a fake clock, for functional tests of long timers.

``TimerTap`` holds what the engine sends to the timer queue until the test's clock passes the moment SQS
would make it visible (now + DelaySeconds), then hands it to the real TimerFunction handler. Everything
else (decider, results, task queues) runs on moto as usual.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.stack import REGION, Harness, context


class TimerTap:
    def __init__(self, harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        self.harness = harness
        self.held: list[tuple[int, str]] = []
        self.delays: list[int] = []
        queues = harness.runtime.queues
        send_batches = queues._send_batches

        def send(url: str, entries: list[dict[str, Any]]) -> None:
            if url != queues.timer_queue_url:
                send_batches(url, entries)
                return
            now = harness.clock()
            for entry in entries:
                self.delays.append(entry.get("DelaySeconds", 0))
                self.held.append((now + entry.get("DelaySeconds", 0) * 1000, entry["MessageBody"]))

        monkeypatch.setattr(queues, "_send_batches", send)

    def deliver(self) -> int:
        """Hand the timers SQS would show by now to TimerFunction, then let the engine react."""
        now = self.harness.clock()
        due = [body for visible_at, body in self.held if visible_at <= now]
        self.held = [(visible_at, body) for visible_at, body in self.held if visible_at > now]
        if due:
            records = [_record(body) for body in due]
            self.harness.handlers["timer"].handler({"Records": records}, context("timer"))
        self.harness.pump("decider", "complete")
        return len(due)


def _record(body: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "held-by-the-test",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:timer",
        "awsRegion": REGION,
    }
