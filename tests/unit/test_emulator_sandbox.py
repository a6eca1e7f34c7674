"""An emulated function runs one invocation at a time, like one Lambda execution environment."""

from __future__ import annotations

import threading

from batonflow.emulator.lambda_runtime import LocalFunction
from batonflow.infra import FunctionSpec


def test_a_second_invocation_waits_for_the_first_to_return():
    first_inside = threading.Event()
    release_first = threading.Event()
    order: list[str] = []

    def handler(event: dict, context: object) -> str:
        order.append(f"start {event['n']}")
        if event["n"] == 1:
            first_inside.set()
            assert release_first.wait(5)
        order.append(f"end {event['n']}")
        return "ok"

    function = LocalFunction(FunctionSpec("Fn", "m.handler", {}), handler, arn="arn:aws:lambda:::function:Fn")
    first = threading.Thread(target=function.invoke, args=({"n": 1},))
    first.start()
    assert first_inside.wait(5)
    second = threading.Thread(target=function.invoke, args=({"n": 2},))
    second.start()
    second.join(0.2)
    assert second.is_alive(), "the second invocation must wait while the first runs"
    release_first.set()
    first.join(5)
    second.join(5)
    assert order == ["start 1", "end 1", "start 2", "end 2"]
