"""``baton up --localstack`` resolves the endpoint as localstack-client does."""

from __future__ import annotations

import pytest

from batonflow.emulator.endpoints import localstack_endpoint


@pytest.mark.parametrize(
    ("environ", "endpoint"),
    [
        ({}, "http://localhost:4566"),
        ({"LOCALSTACK_HOST": "ls.internal"}, "http://ls.internal:4566"),
        ({"LOCALSTACK_HOST": "ls.internal:4599"}, "http://ls.internal:4599"),
        ({"LOCALSTACK_HOST": "[::1]"}, "http://[::1]:4566"),
        ({"LOCALSTACK_HOST": "[::1]:4599"}, "http://[::1]:4599"),
        ({"LOCALSTACK_HOST": "https://ls.example.com/"}, "https://ls.example.com"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000/", "LOCALSTACK_HOST": "other"}, "http://127.0.0.1:5000"),
        ({"AWS_ENDPOINT_URL": "  ", "LOCALSTACK_HOST": "  "}, "http://localhost:4566"),
    ],
)
def test_the_endpoint_follows_localstack_clients_conventions(environ: dict[str, str], endpoint: str) -> None:
    assert localstack_endpoint(environ) == endpoint
