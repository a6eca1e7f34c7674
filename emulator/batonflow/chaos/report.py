"""The chaos run's figures as tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from batonflow.chaos.checker import OUTCOMES


def render(figures: dict[str, Any], console: Console) -> None:
    """Outcomes by workflow kind, the faults injected, and the workflows that went wrong."""
    outcomes = Table(title=f"Chaos: {figures['workflows']} workflows in {figures['duration_s']} s")
    outcomes.add_column("kind")
    for outcome in OUTCOMES:
        outcomes.add_column(outcome, justify="right")
    for kind, counts in figures["by_kind"].items():
        outcomes.add_row(kind, *(str(counts.get(outcome, 0)) for outcome in OUTCOMES))
    outcomes.add_row(
        "[bold]all[/bold]",
        *(str(figures[key]) for key in ("completed_correct", "wrong_output", "lost", "stuck")),
    )
    console.print(outcomes)
    injected = Table(title=f"Faults injected (profile {figures['faults']}, seed {figures['seed']})")
    injected.add_column("fault")
    injected.add_column("times", justify="right")
    for kind, count in figures["injected"].items():
        injected.add_row(kind, str(count))
    console.print(injected)
    console.print(f"Double completions: {figures['double_completions']}")
    for failure in figures["failures"]:
        console.print(
            f"[red]{failure['outcome']}[/red] {failure['kind']} {failure['workflowId']}: {failure['detail']}"
            + (f" doubles: {failure['doubles']}" if failure["doubles"] else "")
        )
