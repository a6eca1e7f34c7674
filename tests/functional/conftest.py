from __future__ import annotations

import pytest

from tests.support.stack import Harness, moto_harness


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch):
    with moto_harness(monkeypatch) as stack:
        yield stack


__all__ = ["Harness"]
