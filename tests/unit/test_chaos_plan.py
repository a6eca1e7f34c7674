"""What a chaos seed fixes: the workflows a run starts, their inputs and expected outputs."""

from __future__ import annotations

from typer.testing import CliRunner

from batonflow.chaos.workloads import MIX, SIMPLE, WAIT, plan
from batonflow.cli.main import app


def figures(seed: int, count: int) -> list[tuple[str, dict, dict, str]]:
    return [(p.workload.kind, p.input, p.expected, p.idempotency_key) for p in plan(seed, count)]


def test_the_same_seed_plans_the_same_workflows_and_another_seed_other_inputs():
    assert figures(7, 40) == figures(7, 40)
    other = figures(8, 40)
    assert [kind for kind, *_ in other] == [kind for kind, *_ in figures(7, 40)]
    assert [given for _, given, *_ in other] != [given for _, given, *_ in figures(7, 40)]


def test_a_workflow_s_input_depends_only_on_the_seed_and_its_index():
    assert figures(7, 10) == figures(7, 40)[:10]
    assert [p.input for p in plan(7, 3, [SIMPLE, WAIT])] == [p.input for p in plan(7, 3, [SIMPLE, WAIT])]


def test_the_plan_takes_the_kinds_in_turn():
    kinds = [p.workload.kind for p in plan(1, 2 * len(MIX))]

    assert kinds == [w.kind for w in MIX] * 2


def test_attaching_without_the_stack_s_queues_says_what_is_missing_and_that_faults_are_the_stack_s():
    result = CliRunner(env={"BATON_QUEUE_PREFIX": None, "POWERTOOLS_METRICS_DISABLED": None}).invoke(
        app, ["chaos", "--url", "http://127.0.0.1:9", "--workflows", "1", "--faults", "heavy"]
    )

    assert result.exit_code == 1
    assert "BATON_QUEUE_PREFIX" in result.output
    assert "--faults is ignored with --url" in result.output
