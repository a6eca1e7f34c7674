"""``baton keys``: the application keys of a stack deployed with ``AuthMode=KEY``.

Operators manage keys with their AWS credentials, straight in the stack's table: the API only reads keys,
so no API route can mint one. The secret is printed once, at creation; the table keeps its hash.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from batonflow.cli.connection import aws_errors, fail

console = Console()
app = typer.Typer(help="Create, list and revoke API keys (AuthMode=KEY).", no_args_is_help=True)

TableOption = Annotated[
    str,
    typer.Option(
        envvar="BATON_TABLE", help="The stack's table (the TableName output); or name the stack with --stack."
    ),
]
StackOption = Annotated[
    str, typer.Option(help="CloudFormation stack whose TableName output names the table.")
]
RegionOption = Annotated[str | None, typer.Option(help="AWS region; the default chain's otherwise.")]


@app.command()
def create(
    key_id: Annotated[
        str | None, typer.Option("--id", help="Key id; generated (baton-<random>) when not given.")
    ] = None,
    table: TableOption = "",
    stack: StackOption = "",
    region: RegionOption = None,
) -> None:
    """Create a key and print its id and secret (shown this once)."""
    from batonflow.store.app_keys import AppKeyError

    with aws_errors():
        keys = _store(table, stack, region)
        try:
            new_id, secret = keys.create(int(time.time() * 1000), key_id)
        except AppKeyError as error:
            fail(str(error))
    console.print(f"[bold]Key id[/bold]  {new_id}\n[bold]Secret[/bold]  {secret}")
    console.print(
        "Shown once; the stack keeps only its hash. conductor-python: "
        f"CONDUCTOR_AUTH_KEY={new_id} CONDUCTOR_AUTH_SECRET=<the secret>",
        style="dim",
    )


@app.command("list")
def list_keys(table: TableOption = "", stack: StackOption = "", region: RegionOption = None) -> None:
    """List the keys (ids and creation times; secrets are not stored)."""
    with aws_errors():
        keys = sorted(_store(table, stack, region).list(), key=lambda key: key.created_at)
    listing = Table("Key id", "Created (UTC)")
    for key in keys:
        created = datetime.fromtimestamp(key.created_at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        listing.add_row(key.key_id, created)
    console.print(listing if keys else "No keys.")


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key to revoke.")],
    table: TableOption = "",
    stack: StackOption = "",
    region: RegionOption = None,
) -> None:
    """Delete a key: no new tokens at once, its tokens refused within a minute."""
    with aws_errors():
        revoked = _store(table, stack, region).revoke(key_id)
    if not revoked:
        fail(f"No key {key_id}")
    console.print(f"Revoked {key_id}.")


def _store(table: str, stack: str, region: str | None):
    import boto3

    from batonflow.store.app_keys import AppKeyStore

    if bool(table) == bool(stack):
        fail("Name the table (--table, or BATON_TABLE) or the stack (--stack), one of them")
    session = boto3.session.Session(region_name=region)
    if stack:
        outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        found = [o["OutputValue"] for o in outputs.get("Outputs", []) if o["OutputKey"] == "TableName"]
        if not found:
            fail(f"Stack {stack} has no TableName output: is it a Baton stack?")
        table = found[0]
    return AppKeyStore(session.client("dynamodb"), table)
