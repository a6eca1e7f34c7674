"""What running a system task produced, before it is written to the task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batonflow.model import TaskStatus


@dataclass(frozen=True)
class SystemOutcome:
    """The attempt's new status, ``outputData`` and ``reasonForIncompletion``.

    IN_PROGRESS means "done, now wait for an external update" (``asyncComplete``).
    """

    status: TaskStatus
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
