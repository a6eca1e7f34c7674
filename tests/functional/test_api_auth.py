"""API-key auth through the template: ``AuthMode=KEY`` reaches the API function's environment, an
application key stored (hashed) in the table is traded at ``POST /api/token`` for a token, and every other
path wants it in ``X-Authorization``. In the other modes ``/api/token`` is an unknown route (404), which
conductor-python reads as open mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from batonflow.api.auth import KEY_CACHE_S, TOKEN_TTL_S
from tests.support.stack import Harness, moto_harness

KEY_ID, SECRET = "ci-key", "s3cret-of-ci-key"
FLOW = {"name": "auth_flow", "version": 1, "tasks": [{"name": "auth_work", "taskReferenceName": "work"}]}


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with moto_harness(monkeypatch, parameters={"AuthMode": "KEY"}) as stack:
        stack.runtime.app_keys.create(stack.clock(), KEY_ID, SECRET)
        yield stack


def token_of(harness: Harness) -> str:
    response = harness.api("POST", "/api/token", {"keyId": KEY_ID, "keySecret": SECRET})
    assert response.status == 200, response.text
    return response.json()["token"]


def assert_unauthorized(response, code: str | None) -> dict:
    assert response.status == 401, response.text
    body = response.json()
    assert (body["status"], body["retryable"], body.get("error")) == (401, False, code)
    assert body["message"]
    return body


def test_without_an_api_key_token_is_an_unknown_route_and_everything_is_open(harness: Harness):
    token = harness.api("POST", "/api/token", {"keyId": KEY_ID, "keySecret": SECRET})

    assert token.status == 404
    assert token.json() == {
        "status": 404,
        "message": "No route for POST /api/token",
        "instance": "baton",
        "retryable": False,
    }
    assert harness.api("POST", "/api/metadata/workflow", FLOW).status == 200
    assert harness.api("GET", "/api/metadata/workflow/auth_flow").json()["name"] == "auth_flow"


def test_the_key_buys_a_token_that_opens_every_route(secured: Harness):
    headers = {"X-Authorization": token_of(secured)}

    assert secured.api("POST", "/api/metadata/workflow", FLOW, headers=headers).status == 200
    started = secured.api("POST", "/api/workflow/auth_flow", {"n": 1}, headers=headers)
    assert started.status == 200, started.text
    secured.pump()
    workflow = secured.api("GET", f"/api/workflow/{started.text}", headers=headers).json()
    assert (workflow["status"], workflow["input"], workflow["tasks"][0]["taskType"]) == (
        "RUNNING",
        {"n": 1},
        "auth_work",
    )
    polled = secured.api("GET", "/api/tasks/poll/batch/auth_work?count=1&timeout=0", headers=headers)
    assert [task["workflowInstanceId"] for task in polled.json()] == [started.text]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"keyId": KEY_ID, "keySecret": "wrong"}, 401),
        ({"keyId": "someone", "keySecret": SECRET}, 401),
        ({}, 401),
        (["not", "an", "object"], 400),
    ],
)
def test_a_wrong_key_gets_no_token(secured: Harness, body, status: int):
    response = secured.api("POST", "/api/token", body)

    assert response.status == status, response.text
    assert "token" not in response.json()
    if status == 401:
        # no EXPIRED_TOKEN/INVALID_TOKEN code: the SDK would answer it by asking /token again, recursively
        assert_unauthorized(response, None)


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/api/metadata/workflow"),
        ("POST", "/api/workflow/auth_flow"),
        ("GET", "/api/tasks/poll/batch/auth_work?count=1&timeout=0"),
        ("POST", "/api/tasks/update-v2"),
        ("GET", "/api/no/such/route"),
    ],
)
def test_every_route_unknown_ones_included_wants_a_token(secured: Harness, method: str, target: str):
    missing = secured.api(method, target, {})
    forged = secured.api(method, target, {}, headers={"X-Authorization": "e30.c2lnbmF0dXJl"})

    assert_unauthorized(missing, "INVALID_TOKEN")
    assert "X-Authorization" in missing.json()["message"]
    assert_unauthorized(forged, "INVALID_TOKEN")


def test_a_token_expires_after_an_hour_and_nothing_happens_with_it(secured: Harness):
    token = token_of(secured)
    secured.clock.advance(TOKEN_TTL_S)

    expired = secured.api("POST", "/api/metadata/workflow", FLOW, headers={"X-Authorization": token})

    assert_unauthorized(expired, "EXPIRED_TOKEN")
    fresh = {"X-Authorization": token_of(secured)}
    assert secured.api("GET", "/api/metadata/workflow/auth_flow", headers=fresh).status == 404
    assert secured.api("POST", "/api/metadata/workflow", FLOW, headers=fresh).status == 200


def test_health_checks_stay_open(secured: Harness):
    assert secured.api("GET", "/health").json() == {"healthy": True}
    assert secured.api("GET", "/api/health").json() == {"healthy": True}


def test_the_table_keeps_a_hash_of_the_secret_and_a_revoked_key_stops_working(secured: Harness):
    keys = secured.runtime.app_keys
    [stored] = keys.list()
    assert stored.key_id == KEY_ID and SECRET.encode() not in stored.secret_hash
    token = token_of(secured)

    assert keys.revoke(KEY_ID) and not keys.revoke(KEY_ID)
    secured.clock.advance(KEY_CACHE_S)

    revoked = secured.api("GET", "/api/metadata/workflow", headers={"X-Authorization": token})
    assert_unauthorized(revoked, "INVALID_TOKEN")
    again = secured.api("POST", "/api/token", {"keyId": KEY_ID, "keySecret": SECRET})
    assert_unauthorized(again, None)
