"""template.yaml passes cfn-lint with nothing to report, informational checks included."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from batonflow.infra import find_template


def test_cfn_lint_reports_nothing() -> None:
    matches = lint_file(find_template(), config=ManualArgs(regions=["us-east-1"], include_checks=["I"]))

    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []
