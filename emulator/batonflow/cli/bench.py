"""``baton bench``: throughput, latency, AWS calls and dollars per task, on a fresh local stack."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from batonflow.cli.progress import phase_bars


def bench(
    tasks: Annotated[
        int, typer.Option(min=10, help="SIMPLE tasks to run for throughput, as chains of ten in parallel.")
    ] = 1000,
    fanout: Annotated[
        int, typer.Option(min=10, help="Branches of the wider dynamic fork; the narrower has a tenth.")
    ] = 1000,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as one JSON object on the last line.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Draw throughput and cost components to this PNG (needs matplotlib).")
    ] = None,
) -> None:
    """Measure Baton on an embedded moto server against the bare AWS calls a task needs (the floor).

    Every AWS call is counted with botocore hooks and priced at us-east-1 list prices; nothing is
    estimated from a model of the engine. Timings are this machine's, all on one moto server.
    """
    from batonflow.bench.errors import BenchError
    from batonflow.bench.report import plot as draw
    from batonflow.bench.report import render, summary
    from batonflow.bench.runner import run_bench

    if plot is not None and importlib.util.find_spec("matplotlib") is None:
        raise typer.BadParameter("needs matplotlib: pip install 'batonflow[plot]'", param_hint="--plot")
    # the functions' embedded-metric lines would interleave with the report; the bench counts calls itself
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    console = Console(stderr=as_json)
    with phase_bars(label_width=16, transient=as_json) as advance:
        try:
            result = run_bench(tasks=tasks, fanout=fanout, progress=advance)
        except BenchError as error:
            Console(stderr=True).print(f"[red]bench failed:[/red] {error}")
            raise typer.Exit(1) from error
    figures = summary(result)
    if plot is not None:
        draw(figures, plot)
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        render(figures, console)
        if plot is not None:
            console.print(f"Plot written to {plot}")
