"""``baton``: run Baton locally, and (as more issues land) drive workflows on any Baton stack."""

from __future__ import annotations

from typing import Annotated

import typer

from batonflow.cli import defs, dlq, keys
from batonflow.cli.bench import bench
from batonflow.cli.chaos import chaos
from batonflow.cli.connection import set_debug
from batonflow.cli.graph.command import graph
from batonflow.cli.operations import pause, rerun, restart, resume, retry, terminate
from batonflow.cli.search import search
from batonflow.cli.start import start
from batonflow.cli.status import status
from batonflow.cli.up import up
from batonflow.cli.worker import worker

app = typer.Typer(
    help="Baton: Conductor workflows on AWS Lambda, DynamoDB and SQS, with no server to operate.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show API errors as tracebacks instead of one line.")
    ] = False,
) -> None:
    set_debug(debug)


app.command()(up)
app.command()(bench)
app.command()(chaos)
app.command()(graph)
app.command()(worker)
app.add_typer(keys.app, name="keys")
app.add_typer(dlq.app, name="dlq")
app.add_typer(defs.app, name="defs")
app.command()(start)
app.command()(status)
app.command()(search)
for operation in (terminate, pause, resume, retry, restart, rerun):
    app.command()(operation)


@app.command()
def version() -> None:
    """Print Baton's version."""
    from importlib.metadata import version as package_version

    typer.echo(package_version("batonflow"))


if __name__ == "__main__":
    app()
