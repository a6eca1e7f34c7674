"""``baton``: run Baton locally, and (as more issues land) drive workflows on any Baton stack."""

from __future__ import annotations

import typer

from batonflow.cli import keys
from batonflow.cli.bench import bench
from batonflow.cli.up import up

app = typer.Typer(
    help="Baton: Conductor workflows on AWS Lambda, DynamoDB and SQS, with no server to operate.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(up)
app.command()(bench)
app.add_typer(keys.app, name="keys")


@app.command()
def version() -> None:
    """Print Baton's version."""
    from importlib.metadata import version as package_version

    typer.echo(package_version("batonflow"))


if __name__ == "__main__":
    app()
