"""EventBridge ``rate(...)`` schedules: a thread that invokes a function with a Scheduled Event.

Like EventBridge, the first run comes one interval after start, not at start. ``interval_s`` can be
shorter than the template's rate for local use and tests. Not emulated: EventBridge's retries of a failed
asynchronous invocation (the failure is logged; the next tick runs anyway).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from batonflow.emulator.background import BackgroundLoop

logger = logging.getLogger(__name__)


def scheduled_event(
    *, rule_arn: str, region: str, account_id: str, now_s: float, event_id: str
) -> dict[str, Any]:
    """The event EventBridge sends a schedule's target."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": datetime.fromtimestamp(now_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduleRunner(BackgroundLoop):
    """Invokes ``invoke`` every ``interval_s`` with a scheduled event (or the rule's constant ``input``)."""

    def __init__(
        self,
        invoke: Callable[[Any], Any],
        *,
        interval_s: float,
        rule_arn: str,
        region: str,
        account_id: str,
        input: Any = None,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.interval_s = interval_s
        self.rule_arn = rule_arn
        self._invoke = invoke
        self._region = region
        self._account_id = account_id
        self._input = input
        self._clock = clock
        self._new_id = new_id
        super().__init__(f"schedule-{rule_arn.rsplit('/', 1)[-1]}")

    def fire(self) -> Any:
        """One run, now; returns what the function returned."""
        event = self._input
        if event is None:
            event = scheduled_event(
                rule_arn=self.rule_arn,
                region=self._region,
                account_id=self._account_id,
                now_s=self._clock(),
                event_id=self._new_id(),
            )
        return self._invoke(event)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.fire()
            except Exception:
                logger.exception("scheduled run of %s failed", self.rule_arn)
