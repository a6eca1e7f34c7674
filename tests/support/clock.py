"""A clock tests move by hand."""

from __future__ import annotations

T0 = 1_700_000_000_000


class FakeClock:
    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> int:
        self.now += int(seconds * 1000)
        return self.now
