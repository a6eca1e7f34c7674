"""Fault injection and ``baton chaos``: every fault kind is really injected, and the workflows still end
with the outputs computed without the engine.

Each run starts its own stack (the faults hook every boto3 client built after it starts). Rates of 1.0
where the engine can still progress; faults that would stop all progress at 1.0 (a crash or throttle on
every call, every task message hidden) run at rates that still let it through.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from batonflow.chaos.runner import run_chaos
from batonflow.cli.main import app
from batonflow.emulator.faults import FAULT_KINDS, FaultProfile

pytestmark = pytest.mark.e2e

CASES = {
    # fault: (rate, workload kinds that give it occasions)
    "duplicate": (1.0, ["simple", "fork_join"]),
    "reorder": (1.0, ["dynamic_fork", "fork_join"]),
    "crash_before_delete": (0.3, ["simple", "fork_join"]),
    "crash_after_write": (0.3, ["simple", "sub_workflow"]),
    "throttle": (0.3, ["simple", "switch"]),
    "lost_timer": (1.0, ["wait"]),
    "vanish": (0.3, ["simple"]),  # each vanish costs an attempt: at 0.5, 1 task in 128 used up all 7
    "report_twice": (1.0, ["simple", "do_while"]),
    "stale_result": (1.0, ["retry", "timeout"]),
}


WORKFLOWS = {"vanish": 12, "crash_before_delete": 12}
"""Runs are of four workflows, except where a fault's rate leaves a real chance that no occasion draws it
(the draws depend on message bodies, which carry times): vanish at 0.3 over four two-task workflows drew
none in a CI run (0.7 ** 8: about one run in twenty); over twelve, about one in five thousand. Crashes
before the delete are drawn per batch, the fewest occasions of all."""


def test_every_fault_kind_has_a_case():
    assert sorted(CASES) == sorted(FAULT_KINDS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", list(CASES))
def test_each_fault_is_injected_and_the_workflows_still_end_right(kind: str):
    rate, kinds = CASES[kind]
    workflows = WORKFLOWS.get(kind, 4)

    result = run_chaos(
        workflows=workflows, profile=FaultProfile({kind: rate}, seed=11), kinds=kinds, deadline_s=240
    )

    figures = result.summary()
    assert figures["injected"].get(kind, 0) > 0, figures
    assert set(figures["injected"]) == {kind}
    assert figures["completed_correct"] == figures["workflows"] == workflows, figures["failures"]
    assert figures["double_completions"] == 0, figures["failures"]


@pytest.mark.timeout(300)
def test_a_small_chaos_run_under_the_default_profile_is_all_correct():
    result = CliRunner().invoke(
        app, ["chaos", "--workflows", "20", "--faults", "default", "--seed", "7", "--json"]
    )

    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["workflows"] == figures["completed_correct"] == 20
    assert (figures["wrong_output"], figures["lost"], figures["stuck"], figures["double_completions"]) == (
        0,
        0,
        0,
        0,
    )
    assert figures["duration_s"] > 0
    assert sum(figures["injected"].values()) > 0
    assert set(figures["by_kind"]) == {
        "simple",
        "retry",
        "switch",
        "fork_join",
        "dynamic_fork",
        "do_while",
        "sub_workflow",
        "wait",
        "timeout",
    }
