"""``baton keys``: an operator's keys, created, listed and revoked in the stack's table, and what the API
makes of them (``AuthMode=KEY``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import boto3
import pytest
from typer.testing import CliRunner

from batonflow.api.auth import KEY_CACHE_S
from batonflow.cli.main import app
from tests.support.stack import REGION, Harness, moto_harness

runner = CliRunner()


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with moto_harness(monkeypatch, parameters={"AuthMode": "KEY"}) as stack:
        yield stack


def baton(*args: str) -> tuple[int, str]:
    # the harness exports the functions' BATON_TABLE; an operator's shell has none
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "BATON_TABLE": None})
    return result.exit_code, result.output


def table_of(harness: Harness) -> str:
    return str(harness.stack.resources["BatonTable"].ref)


def token(harness: Harness, key_id: str, secret: str):
    return harness.api("POST", "/api/token", {"keyId": key_id, "keySecret": secret})


def test_a_created_key_opens_the_api_until_it_is_revoked(secured: Harness):
    table = table_of(secured)

    code, output = baton("keys", "create", "--table", table)
    assert code == 0, output
    key_id = re.search(r"Key id\s+(\S+)", output)[1]
    secret = re.search(r"Secret\s+(\S+)", output)[1]
    granted = token(secured, key_id, secret)
    assert granted.status == 200, granted.text

    code, listing = baton("keys", "list", "--table", table)
    assert code == 0 and key_id in listing and secret not in listing

    assert baton("keys", "revoke", key_id, "--table", table)[0] == 0
    secured.clock.advance(KEY_CACHE_S)
    refused = secured.api(
        "GET", "/api/metadata/workflow", headers={"X-Authorization": granted.json()["token"]}
    )
    assert refused.status == 401
    assert token(secured, key_id, secret).status == 401
    assert baton("keys", "revoke", key_id, "--table", table) == (1, f"No key {key_id}\n")


def test_a_named_key_id_is_kept_and_cannot_be_taken_twice(secured: Harness):
    table = table_of(secured)

    assert baton("keys", "create", "--id", "ci-runner", "--table", table)[0] == 0
    code, output = baton("keys", "create", "--id", "ci-runner", "--table", table)

    assert code == 1 and "in use" in output
    assert [key.key_id for key in secured.runtime.app_keys.list()] == ["ci-runner"]


def test_the_stack_names_its_table_through_its_outputs(secured: Harness):
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"TableName": {"Value": table_of(secured)}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="deployed", TemplateBody=json.dumps(template)
    )

    code, output = baton("keys", "create", "--id", "via-stack", "--stack", "deployed", "--region", REGION)

    assert code == 0, output
    assert [key.key_id for key in secured.runtime.app_keys.list()] == ["via-stack"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("keys", "list"), "Name the table"),
        (("keys", "list", "--table", "t", "--stack", "s"), "Name the table"),
        (("keys", "create", "--id", "has space", "--table", "TABLE"), "must be 1-128"),
        (("keys", "list", "--table", "no-such-table"), "AWS refused"),
        (("keys", "list", "--stack", "no-such-stack"), "AWS refused"),
    ],
)
def test_mistakes_are_one_readable_line(secured: Harness, args: tuple[str, ...], message: str):
    args = tuple(table_of(secured) if arg == "TABLE" else arg for arg in args)
    code, output = baton(*args)

    assert code == 1
    assert message in output and "Traceback" not in output
