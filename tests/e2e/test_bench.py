"""``baton bench`` at a tiny size: it runs end to end on its own stack and reports every figure.

Timings are this machine's and are never asserted; what is checked is that the run completed every workflow
with the output computed without the engine (the bench exits 1 otherwise) and that the figures hang
together.
"""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from batonflow.cli.main import app

pytestmark = pytest.mark.e2e

REQUIRED = (
    "tasks_per_s",
    "floor_tasks_per_s",
    "step_overhead_ms_p50",
    "raw_roundtrip_ms_p50",
    "calls_per_task",
    "usd_per_million_tasks",
    "fanout_cost_ratio",
    "cold_import_ratio",
)


def test_a_tiny_bench_reports_every_figure_as_json_on_its_last_line() -> None:
    result = CliRunner().invoke(app, ["bench", "--tasks", "20", "--fanout", "10", "--json"])

    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(figures[name] > 0 for name in REQUIRED)
    assert figures["tasks"] == 20
    by_operation = figures["calls_per_task_by_operation"]
    expected = {"dynamodb:UpdateItem", "sqs:SendMessage", "lambda:Invoke", "apigateway:Request"}
    assert expected <= set(by_operation)
    assert figures["calls_per_task"] == pytest.approx(sum(by_operation.values()))
    dollars = figures["usd_per_million_tasks_by_component"]
    assert figures["usd_per_million_tasks"] == pytest.approx(sum(dollars.values()))
    assert dollars["dynamodb_writes"] > 0 and dollars["sqs"] > 0 and dollars["lambda_duration"] > 0
    assert set(figures["fanout"]) == {"1", "10"}
    assert figures["fanout"]["10"]["dynamodb_items_written_per_branch"] > 0
    assert set(figures["cold_import_s"]) >= {"boto3", "batonflow.handlers.decider", "batonflow.handlers.api"}
    assert set(figures["cold_import_floor_s"]) == set(figures["cold_import_s"]) - {"boto3"}
    assert figures["cold_import_floor_ratio"] > 1
    assert len(figures["targets"]) == 6
    assert all(isinstance(check["met"], bool) for check in figures["targets"].values())


def test_plot_without_matplotlib_is_refused_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)

    result = CliRunner().invoke(app, ["bench", "--plot", "out.png"])

    assert result.exit_code == 2
    assert "batonflow[plot]" in result.output
