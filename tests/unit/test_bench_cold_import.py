"""`baton bench` cold imports: every handler of template.yaml, measured in fresh interpreters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batonflow.bench.cold_import import (
    HANDLER_MODULES,
    ColdImports,
    child_environment,
    import_seconds,
    measure_cold_imports,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_handler_modules_are_those_the_template_names() -> None:
    handlers = re.findall(r"^\s+Handler:\s*(\S+)\s*$", TEMPLATE.read_text(), flags=re.MULTILINE)
    assert len(handlers) >= 7
    assert sorted(HANDLER_MODULES) == sorted({handler.rpartition(".")[0] for handler in handlers})


def test_ratio_is_the_slowest_handler_over_boto3() -> None:
    imports = ColdImports(boto3_s=0.2, handlers_s={"a": 0.3, "b": 0.5, "c": 0.1})
    assert imports.ratio == pytest.approx(2.5)


def test_children_get_the_function_environment_and_nothing_of_aws_from_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:5000")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    environment = child_environment()
    assert "AWS_ENDPOINT_URL" not in environment
    assert "AWS_PROFILE" not in environment
    assert environment["BATON_TABLE"] == "t"
    assert environment["AWS_ACCESS_KEY_ID"] and environment["AWS_SECRET_ACCESS_KEY"]
    assert environment["AWS_DEFAULT_REGION"] == "us-east-1"


def test_measures_every_handler_in_a_fresh_interpreter() -> None:
    imports = measure_cold_imports(repeats=1)
    assert set(imports.handlers_s) == set(HANDLER_MODULES)
    assert imports.boto3_s > 0
    # each handler imports boto3 and builds clients on top of it; a child that had them already would not
    assert all(seconds > imports.boto3_s for seconds in imports.handlers_s.values())
    assert imports.ratio == max(imports.handlers_s.values()) / imports.boto3_s


def test_a_module_that_fails_to_import_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"batonflow\.no_such_module"):
        import_seconds("batonflow.no_such_module")


def test_repeats_must_be_positive() -> None:
    with pytest.raises(ValueError, match="repeats"):
        measure_cold_imports(repeats=0)
