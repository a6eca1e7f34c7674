"""The engine's SQS sends in functional tests: the decider wake-ups it sends, and sends made to fail."""

from __future__ import annotations

from typing import Any

import pytest

from batonflow.model.wire import DeciderMessage
from batonflow.queues.sqs import Queues, SendError


class Wakes:
    """The decider messages the engine sends (the queue itself is FIFO: peeking would hide them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.messages: list[DeciderMessage] = []
        send = Queues.wake

        def wake(queues: Queues, messages: dict[str, DeciderMessage]) -> None:
            self.messages.extend(messages.values())
            send(queues, messages)

        monkeypatch.setattr(Queues, "wake", wake)


def refuse_sends(monkeypatch: pytest.MonkeyPatch, *, times: int, url: str | None = None) -> list[str]:
    """Make the first ``times`` batched sends (to ``url`` only, if given) fail with SendError; returns the
    queue URLs refused, as they are. Sends collected by ``Queues.held`` fail when they go out, not before."""
    refused: list[str] = []
    send = Queues._send_batches

    def refusing(queues: Queues, to: str, entries: list[dict[str, Any]]) -> None:
        sending = getattr(queues._held, "entries", None) is None
        if sending and len(refused) < times and url in (None, to):
            refused.append(to)
            raise SendError("SQS refused the batch")
        send(queues, to, entries)

    monkeypatch.setattr(Queues, "_send_batches", refusing)
    return refused
