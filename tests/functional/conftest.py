from __future__ import annotations

import pytest

from tests.support.sends import Wakes
from tests.support.stack import Harness, moto_harness


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch):
    with moto_harness(monkeypatch) as stack:
        yield stack


@pytest.fixture
def wakes(monkeypatch: pytest.MonkeyPatch) -> Wakes:
    """The decider wake-ups the engine sends during the test."""
    return Wakes(monkeypatch)


__all__ = ["Harness", "Wakes"]
