"""BatonClient's choice of auth and its token bookkeeping, with the connection pool replaced by a script."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3
from botocore.credentials import Credentials

from batonflow.sdk import BatonApiError, BatonClient


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: Any


class ScriptedPool:
    """Stands in for the client's ``urllib3.PoolManager``: answers from a script, 200 ``{}`` after it."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.sent: list[Sent] = []

    def request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> urllib3.HTTPResponse:
        self.sent.append(Sent(method, url, dict(headers), json.loads(body) if body else None))
        status, data = self.answers.pop(0) if self.answers else (200, {})
        return urllib3.HTTPResponse(
            body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
        )

    def clear(self) -> None:
        """Nothing pooled."""


def scripted(client: BatonClient, monkeypatch: pytest.MonkeyPatch, *answers: tuple[int, Any]) -> ScriptedPool:
    pool = ScriptedPool(*answers)
    monkeypatch.setattr(client, "_http", pool)
    return pool


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS credentials or region anywhere botocore looks (environment, files, instance metadata)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


EXPIRED = (401, {"status": 401, "message": "Token expired", "error": "EXPIRED_TOKEN", "retryable": False})


def test_a_token_refused_again_after_renewal_raises_after_one_renewal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = BatonClient(api_key=("k", "s"))
    pool = scripted(client, monkeypatch, (200, {"token": "t1"}), EXPIRED, (200, {"token": "t2"}), EXPIRED)

    with pytest.raises(BatonApiError) as raised:
        client.start_workflow("greetings")

    assert raised.value.status == 401
    assert [(s.method, s.url, s.headers.get("X-Authorization")) for s in pool.sent] == [
        ("POST", "http://127.0.0.1:8080/api/token", None),
        ("POST", "http://127.0.0.1:8080/api/workflow/greetings", "t1"),
        ("POST", "http://127.0.0.1:8080/api/token", None),
        ("POST", "http://127.0.0.1:8080/api/workflow/greetings", "t2"),
    ]
    assert pool.sent[0].body == {"keyId": "k", "keySecret": "s"}


@pytest.mark.parametrize(
    "refusal",
    [
        (401, {"status": 401, "message": "Unauthorized"}),
        (403, {"status": 403, "message": "Forbidden", "error": "INVALID_TOKEN"}),
    ],
)
def test_other_refusals_are_not_retried(monkeypatch: pytest.MonkeyPatch, refusal: tuple[int, Any]) -> None:
    client = BatonClient(api_key=("k", "s"))
    pool = scripted(client, monkeypatch, (200, {"token": "t1"}), refusal)

    with pytest.raises(BatonApiError) as raised:
        client.start_workflow("greetings")

    assert raised.value.status == refusal[0]
    assert [s.url.rsplit("/", 1)[-1] for s in pool.sent] == ["token", "greetings"]


def test_a_token_answer_without_a_token_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    client = BatonClient(api_key=("k", "s"))
    pool = scripted(client, monkeypatch, (200, {"note": "no token here"}))

    with pytest.raises(BatonApiError, match="no token"):
        client.get_workflow("wf-1")
    assert len(pool.sent) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"api_key": ("k", "s"), "bearer_token": "jwt"}, "not api_key and bearer_token"),
        ({"aws_iam": Credentials("a", "b"), "bearer_token": "jwt", "region": "us-east-1"}, "not aws_iam and"),
        ({"bearer_token": "jwt", "region": "us-east-1"}, "region= is only used"),
        ({"api_key": ("k", "")}, "both a key id and a secret"),
    ],
)
def test_auth_options_that_do_not_fit_together(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BatonClient("http://127.0.0.1:8080", **options)


def signed_scope(client: BatonClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """``<key>/<date>/<region>/<service>/aws4_request`` of the next request's signature."""
    pool = scripted(client, monkeypatch)
    client.get_workflow("wf-1")
    credential = pool.sent[0].headers["Authorization"].split(",")[0]
    return credential.removeprefix("AWS4-HMAC-SHA256 Credential=")


def test_iam_takes_the_region_from_an_execute_api_url(no_aws: pytest.MonkeyPatch) -> None:
    no_aws.setenv("AWS_DEFAULT_REGION", "us-east-1")
    url = "https://a1b2c3d4e5.execute-api.eu-west-2.amazonaws.com"
    client = BatonClient(url, aws_iam=Credentials("AKID", "secret"))

    key, _, region, service, terminal = signed_scope(client, no_aws).split("/")
    assert (key, region, service, terminal) == ("AKID", "eu-west-2", "execute-api", "aws4_request")


def test_iam_uses_the_default_session_for_credentials_and_region(no_aws: pytest.MonkeyPatch) -> None:
    no_aws.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    no_aws.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    no_aws.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    client = BatonClient("https://api.example.com", aws_iam=True)

    key, _, region, *_ = signed_scope(client, no_aws).split("/")
    assert (key, region) == ("AKIDFROMENV", "ap-southeast-2")


def test_an_explicit_region_wins(no_aws: pytest.MonkeyPatch) -> None:
    url = "https://a1b2c3d4e5.execute-api.eu-west-2.amazonaws.com"
    client = BatonClient(url, aws_iam=Credentials("AKID", "secret"), region="sa-east-1")

    assert signed_scope(client, no_aws).split("/")[2] == "sa-east-1"


def test_iam_without_a_region_or_credentials_says_so(no_aws: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="no region to sign for: pass region="):
        BatonClient("https://api.example.com", aws_iam=Credentials("AKID", "secret"))
    with pytest.raises(ValueError, match="no AWS credentials found"):
        BatonClient("https://api.example.com", aws_iam=True, region="us-east-1")


def identity(sent: Sent) -> str | None:
    """The credentials a request shows: the key id it trades for a token, or its Authorization scheme and
    key up to the first ``/``."""
    if sent.url.endswith("/api/token"):
        return f"key {sent.body['keyId']}"
    authorization = sent.headers.get("Authorization")
    return authorization.split("/")[0] if authorization else None


LOCAL = "http://127.0.0.1:8080/api"


@pytest.mark.parametrize(
    ("environ", "url", "shown"),
    [
        ({}, f"{LOCAL}/workflow/wf-1", None),
        ({"BATON_API_URL": "https://baton.example.com"}, "https://baton.example.com/api/workflow/wf-1", None),
        ({"BATON_API_TOKEN": "jwt"}, f"{LOCAL}/workflow/wf-1", "Bearer jwt"),
        ({"BATON_AUTH_KEY": "bk", "BATON_AUTH_SECRET": "bs"}, f"{LOCAL}/token", "key bk"),
        ({"CONDUCTOR_AUTH_KEY": "ck", "CONDUCTOR_AUTH_SECRET": "cs"}, f"{LOCAL}/token", "key ck"),
        (
            {"BATON_AUTH_KEY": "bk", "BATON_AUTH_SECRET": "bs", "CONDUCTOR_AUTH_KEY": "ck"},
            f"{LOCAL}/token",
            "key bk",
        ),
        ({"BATON_AUTH": "IAM"}, f"{LOCAL}/workflow/wf-1", "AWS4-HMAC-SHA256 Credential=AKIDENV"),
    ],
)
def test_from_env(no_aws: pytest.MonkeyPatch, environ: dict[str, str], url: str, shown: str | None) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        no_aws.setenv(name, value)
    client = BatonClient.from_env(environ)
    pool = scripted(client, no_aws, (200, {"token": "t"}))

    client.get_workflow("wf-1")

    assert (pool.sent[0].url.split("?")[0], identity(pool.sent[0])) == (url, shown)


def test_from_env_reads_os_environ_and_passes_options_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "BATON_AUTH",
        "BATON_AUTH_KEY",
        "BATON_AUTH_SECRET",
        "CONDUCTOR_AUTH_KEY",
        "CONDUCTOR_AUTH_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BATON_API_URL", "http://baton.internal:9000")
    monkeypatch.setenv("BATON_API_TOKEN", "jwt")
    client = BatonClient.from_env(headers={"X-Trace": "1"})
    pool = scripted(client, monkeypatch)

    client.get_workflow("wf-1")

    [sent] = pool.sent
    assert sent.url == "http://baton.internal:9000/api/workflow/wf-1?includeTasks=true"
    assert (sent.headers["Authorization"], sent.headers["X-Trace"]) == ("Bearer jwt", "1")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BATON_AUTH_KEY": "bk"}, "BATON_AUTH_KEY and BATON_AUTH_SECRET go together"),
        ({"CONDUCTOR_AUTH_SECRET": "cs"}, "CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET go together"),
        ({"BATON_AUTH": "jwt"}, "the only value is 'iam'"),
        ({"BATON_AUTH_KEY": "bk", "BATON_AUTH_SECRET": "bs", "BATON_API_TOKEN": "jwt"}, "pick one way"),
    ],
)
def test_from_env_refuses_half_or_conflicting_settings(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BatonClient.from_env(environ)


def test_an_open_server_that_starts_refusing_gets_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    client = BatonClient(api_key=("k", "s"))
    invalid = (401, {"status": 401, "message": "Missing X-Authorization header", "error": "INVALID_TOKEN"})
    pool = scripted(client, monkeypatch, (404, {"status": 404}), (200, {}), invalid, (200, {"token": "t"}))

    client.get_workflow("wf-1")
    client.get_workflow("wf-1")

    assert [
        (s.url.split("?")[0].rsplit("/", 1)[-1], s.headers.get("X-Authorization")) for s in pool.sent
    ] == [
        ("token", None),
        ("wf-1", None),
        ("wf-1", None),
        ("token", None),
        ("wf-1", "t"),
    ]
