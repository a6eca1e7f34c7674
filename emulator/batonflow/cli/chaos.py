"""``baton chaos``: many workflows on a fresh local stack under injected faults, each checked."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.console import Console

from batonflow.cli.progress import phase_bars


def chaos(
    workflows: Annotated[
        int, typer.Option(min=1, help="Workflows to run, drawn in turn from the mix.")
    ] = 100,
    faults: Annotated[
        str,
        typer.Option(
            envvar="BATON_FAULTS",
            help="Fault profile: a preset (none, default, heavy) and/or rates, e.g. 'default,throttle=0.1'.",
        ),
    ] = "default",
    seed: Annotated[int, typer.Option(envvar="BATON_FAULTS_SEED", help="Seed of the inputs and faults.")] = 0,
    deadline: Annotated[
        float | None,
        typer.Option(min=1, help="Seconds to wait for the workflows after the last start (default 600)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as one JSON object on the last line.")
    ] = False,
) -> None:
    """Run workflows of every kind (SIMPLE, retries, SWITCH, forks, DO_WHILE, SUB_WORKFLOW, WAIT, timeouts)
    on a fresh local stack while faults are injected, then check each against its expected output.

    Exits 1 unless every workflow completed with its expected output and nothing ran twice.
    """
    from batonflow.chaos.report import render
    from batonflow.chaos.runner import run_chaos
    from batonflow.emulator.faults import FaultProfile, FaultProfileError

    try:
        profile = FaultProfile.parse(faults, seed=seed)
    except FaultProfileError as error:
        raise typer.BadParameter(str(error), param_hint="--faults") from error
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with phase_bars(label_width=8, transient=as_json) as advance:
        result = run_chaos(workflows=workflows, profile=profile, deadline_s=deadline, progress=advance)
    figures = result.summary()
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        render(figures, Console())
    clean = figures["completed_correct"] == figures["workflows"] and figures["double_completions"] == 0
    if not clean:
        raise typer.Exit(1)
