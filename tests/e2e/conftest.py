"""One real local stack for the e2e session: embedded moto server, HTTP API on a free port, SQS pollers
and schedules in threads, the API in 4 sandbox processes — exactly what ``baton up`` runs."""

from __future__ import annotations

import pytest

from batonflow.emulator.stack import BatonStack


@pytest.fixture(scope="session")
def stack():
    with BatonStack(port=0, stack_name="baton-e2e", schedule_interval_s=2, api_concurrency=4) as running:
        yield running


@pytest.fixture
def api(stack: BatonStack) -> str:
    return f"{stack.api_url}/api"
