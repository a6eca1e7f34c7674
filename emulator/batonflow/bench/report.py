"""A run's numbers as one JSON object, as rich tables, and (optionally) as a plot."""

from __future__ import annotations

from pathlib import Path
from statistics import median
from typing import Any

from rich.console import Console
from rich.table import Table

from batonflow.bench.runner import BenchResult, percentile

TARGETS = {
    "usd_per_million_tasks": ("<=", 3.0),
    "calls_per_task": ("<=", 8.0),
    "throughput_vs_floor": (">=", 0.5),
    "step_overhead_vs_round_trip": ("<=", 5.0),
    "fanout_cost_ratio": ("<=", 11.0),
    "cold_import_ratio": ("<=", 2.0),
}
"""Issue 8's targets, checked against every run (and reported, never asserted in tests)."""


def summary(result: BenchResult) -> dict[str, Any]:
    """Everything the run measured; ``baton bench --json`` prints this as its last line."""
    throughput = result.throughput
    read, written = throughput.dynamodb_items_per_unit()
    step_p50 = median(result.step_overhead_ms)
    raw_p50 = median(result.raw_round_trip_ms)
    figures: dict[str, Any] = {
        "tasks": result.tasks,
        "tasks_per_s": result.tasks_per_s,
        "floor_tasks_per_s": result.floor_tasks_per_s,
        "throughput_vs_floor": result.tasks_per_s / result.floor_tasks_per_s,
        "step_overhead_ms_p50": step_p50,
        "step_overhead_ms_p99": percentile(result.step_overhead_ms, 0.99),
        "raw_roundtrip_ms_p50": raw_p50,
        "step_overhead_vs_round_trip": step_p50 / raw_p50,
        "calls_per_task": throughput.calls_per_unit,
        "calls_per_task_by_operation": throughput.calls_by_operation(),
        "calls_per_task_by_role": throughput.calls_by_role(),
        "idle_receives_per_s": sum(throughput.tally.idle_receives.values()) / throughput.elapsed_s,
        "dynamodb_items_read_per_task": read,
        "dynamodb_items_written_per_task": written,
        "usd_per_million_tasks": result.usd_per_million_tasks,
        "usd_per_million_tasks_by_component": result.cost.per_million(result.tasks),
        "lambda_duration_usd_per_million_tasks_under_load": throughput.cost.per_million(result.tasks)[
            "lambda_duration"
        ],
        "fanout": {
            str(width): {
                "seconds": stretch.elapsed_s,
                "usd_per_million_branches": stretch.cost.total / width * 1e6,
                "usd_per_million_branches_by_component": stretch.cost.per_million(width),
                "calls_per_branch": stretch.calls_per_unit,
                "dynamodb_items_read_per_branch": stretch.dynamodb_items_per_unit()[0],
                "dynamodb_items_written_per_branch": stretch.dynamodb_items_per_unit()[1],
            }
            for width, stretch in sorted(result.fan_out.items())
        },
        "fanout_cost_ratio": result.fanout_cost_ratio,
        "cold_import_ratio": result.cold_import.ratio,
        "cold_import_s": {"boto3": result.cold_import.boto3_s, **result.cold_import.handlers_s},
        "cold_import_floor_ratio": result.cold_import.floor_ratio,
        "cold_import_floor_s": result.cold_import.floors_s,
        "duration_s": result.duration_s,
    }
    figures["targets"] = {
        name: {"target": f"{sign} {bound:g}", "met": _met(figures[name], sign, bound)}
        for name, (sign, bound) in TARGETS.items()
    }
    return figures


def _met(value: float, sign: str, bound: float) -> bool:
    return value <= bound if sign == "<=" else value >= bound


def render(figures: dict[str, Any], console: Console) -> None:
    """The run as tables: headline figures against targets, calls and dollars per task, fan-out."""
    headline = Table(title="Baton bench", title_justify="left")
    for column in ("figure", "value", "target", "met"):
        headline.add_column(column)
    rows = [
        ("tasks per second", f"{figures['tasks_per_s']:.1f}", ""),
        ("floor tasks per second", f"{figures['floor_tasks_per_s']:.1f}", ""),
        ("throughput / floor", f"{figures['throughput_vs_floor']:.2f}", "throughput_vs_floor"),
        (
            "step overhead p50 / p99 (ms)",
            f"{figures['step_overhead_ms_p50']:.1f} / {figures['step_overhead_ms_p99']:.1f}",
            "",
        ),
        ("raw SQS round trip p50 (ms)", f"{figures['raw_roundtrip_ms_p50']:.1f}", ""),
        (
            "step overhead / round trip",
            f"{figures['step_overhead_vs_round_trip']:.1f}",
            "step_overhead_vs_round_trip",
        ),
        ("AWS calls per task", f"{figures['calls_per_task']:.2f}", "calls_per_task"),
        ("USD per million tasks", f"{figures['usd_per_million_tasks']:.2f}", "usd_per_million_tasks"),
        ("fan-out cost ratio (10x branches)", f"{figures['fanout_cost_ratio']:.2f}", "fanout_cost_ratio"),
        ("cold import / import boto3", f"{figures['cold_import_ratio']:.2f}", "cold_import_ratio"),
        ("  its libraries and clients alone", f"{figures['cold_import_floor_ratio']:.2f}", ""),
    ]
    for label, value, target in rows:
        check = figures["targets"].get(target)
        headline.add_row(
            label,
            value,
            check["target"] if check else "",
            ("[green]yes[/green]" if check["met"] else "[red]no[/red]") if check else "",
        )
    console.print(headline)
    console.print(_per_task_table("Calls per task", figures["calls_per_task_by_operation"], "{:.2f}"))
    dollars = figures["usd_per_million_tasks_by_component"]
    console.print(_per_task_table("USD per million tasks", dollars, "{:.3f}"))
    fan_out = Table(title="Fan-out (one dynamic fork)", title_justify="left")
    columns = ("branches", "seconds", "USD / M branches", "calls / branch", "items read", "items written")
    for column in columns:
        fan_out.add_column(column, justify="right")
    for width, row in figures["fanout"].items():
        fan_out.add_row(
            width,
            f"{row['seconds']:.1f}",
            f"{row['usd_per_million_branches']:.2f}",
            f"{row['calls_per_branch']:.2f}",
            f"{row['dynamodb_items_read_per_branch']:.2f}",
            f"{row['dynamodb_items_written_per_branch']:.2f}",
        )
    console.print(fan_out)
    console.print(f"Run took {figures['duration_s']:.0f} s for {figures['tasks']} tasks.")


def _per_task_table(title: str, values: dict[str, float], number: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("component")
    table.add_column("per task" if "Calls" in title else "USD", justify="right")
    for name, value in sorted(values.items(), key=lambda item: -item[1]):
        table.add_row(name, number.format(value))
    return table


def plot(figures: dict[str, Any], path: Path) -> None:
    """Throughput against the floor, and the cost components (needs the ``plot`` extra: matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (speed, cost) = plt.subplots(1, 2, figsize=(11, 4.5))
    speed.bar(
        ["Baton", "floor (bare calls)"],
        [figures["tasks_per_s"], figures["floor_tasks_per_s"]],
        color=["#3b6ea5", "#9aa7b4"],
    )
    speed.set_ylabel("tasks per second")
    speed.set_title("Throughput, same moto server")
    components = figures["usd_per_million_tasks_by_component"]
    names = [name for name, value in components.items() if value > 0]
    cost.barh(names, [components[name] for name in names], color="#3b6ea5")
    cost.set_xlabel("USD per million tasks")
    cost.set_title(f"Cost: {figures['usd_per_million_tasks']:.2f} USD per million tasks")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
