"""``baton chaos``: many workflows on a fresh local stack under injected faults (or on a running stack,
``--url``), each checked."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.console import Console

from batonflow.cli.connection import api_errors, error_console, fail
from batonflow.cli.progress import phase_bars


def chaos(
    workflows: Annotated[
        int, typer.Option(min=1, help="Workflows to run, drawn in turn from the mix.")
    ] = 100,
    faults: Annotated[
        str | None,
        typer.Option(
            envvar="BATON_FAULTS",
            show_default=False,
            help="Fault profile of the fresh stack: a preset (none, default, heavy) and/or rates, e.g. "
            "'default,throttle=0.1' (default: default).",
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            envvar="BATON_FAULTS_SEED",
            help="Seed of the workflows' inputs and of the faults. The same seed gives the same workflows, "
            "inputs and expected outputs, and (on a fresh stack) the same fault decision for the same "
            "message or request; thread timing still varies from run to run.",
        ),
    ] = 0,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            show_default=False,
            help="Attach to the running stack whose API this is (e.g. one `baton up --faults ...` started) "
            "instead of starting one. The faults are then whatever that stack injects (--faults is "
            "ignored). The run's workers need the environment `baton up` prints (BATON_QUEUE_PREFIX, "
            "BATON_RESULTS_QUEUE_URL, AWS_*); the stack's API must not require a key.",
        ),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(min=1, help="Seconds to wait for the workflows after the last start (default 600)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as one JSON object on the last line.")
    ] = False,
) -> None:
    """Run workflows of every kind (SIMPLE, retries, SWITCH, forks, DO_WHILE, SUB_WORKFLOW, WAIT, timeouts)
    on a fresh local stack while faults are injected (or on the stack at --url), then check each against
    its expected output.

    Exits 1 unless every workflow completed with its expected output and nothing ran twice.
    """
    from batonflow.chaos.report import render
    from batonflow.chaos.runner import run_chaos
    from batonflow.emulator.faults import FaultProfile, FaultProfileError
    from batonflow.sdk import WorkerConfigError

    if url is not None and faults is not None:
        error_console.print(
            "[yellow]--faults is ignored with --url: the attached stack injects its own "
            "(baton up --faults).[/yellow]"
        )
    try:
        profile = FaultProfile.parse("default" if faults is None or url else faults, seed=seed)
    except FaultProfileError as error:
        raise typer.BadParameter(str(error), param_hint="--faults") from error
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with api_errors(), phase_bars(label_width=8, transient=as_json) as advance:
        try:
            result = run_chaos(
                workflows=workflows, profile=profile, deadline_s=deadline, progress=advance, url=url
            )
        except WorkerConfigError as error:
            fail(f"Error: {error}; with --url the chaos workers need the stack's queues")
    figures = result.summary()
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        render(figures, Console())
    clean = figures["completed_correct"] == figures["workflows"] and figures["double_completions"] == 0
    if not clean:
        raise typer.Exit(1)
