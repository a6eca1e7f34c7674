"""`baton bench` cold imports: every handler of template.yaml, measured in fresh interpreters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batonflow.bench.cold_import import (
    HANDLER_ENVIRONMENT,
    HANDLER_MODULES,
    ColdImports,
    child_environment,
    floor_seconds,
    import_seconds,
    libraries_of,
    measure_cold_imports,
)
from batonflow.service import runtime
from batonflow.service.runtime import INIT_CLIENTS, Runtime

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_handler_modules_are_those_the_template_names() -> None:
    handlers = re.findall(r"^\s+Handler:\s*(\S+)\s*$", TEMPLATE.read_text(), flags=re.MULTILINE)
    assert len(handlers) >= 7
    assert sorted(HANDLER_MODULES) == sorted({handler.rpartition(".")[0] for handler in handlers})


def test_ratio_is_the_slowest_handler_over_boto3_and_its_floor_is_that_handlers() -> None:
    imports = ColdImports(
        boto3_s=0.2, handlers_s={"a": 0.3, "b": 0.5, "c": 0.1}, floors_s={"a": 0.28, "b": 0.4, "c": 0.09}
    )
    assert imports.slowest == "b"
    assert imports.ratio == pytest.approx(2.5)
    assert imports.floor_ratio == pytest.approx(2.0)


def test_a_handlers_libraries_are_what_it_loads_of_other_packages_in_load_order() -> None:
    libraries = libraries_of("batonflow.handlers.sweeper")
    packages = {name.partition(".")[0] for name in libraries}
    assert {"boto3", "botocore", "pydantic", "aws_lambda_powertools"} <= packages
    assert not packages & {"batonflow", "json", "os", "typing"}
    assert libraries.index("botocore.client") > libraries.index("botocore")


def test_a_floor_imports_the_libraries_and_builds_the_init_clients_without_baton() -> None:
    assert floor_seconds(libraries_of("batonflow.handlers.sweeper")) > 0
    with pytest.raises(RuntimeError, match="must not import batonflow"):
        floor_seconds(["batonflow.clock"])


def test_the_floor_builds_the_clients_a_function_builds_at_init(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    class Session:
        def client(self, service: str, **_: object) -> object:
            built.append(service)
            return object()

    monkeypatch.setattr(runtime.boto3.session, "Session", Session)
    for name, value in HANDLER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    Runtime.from_env()
    assert tuple(built) == INIT_CLIENTS


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


def test_measures_every_handler_and_its_floor_in_a_fresh_interpreter() -> None:
    imports = measure_cold_imports(repeats=1)
    assert set(imports.handlers_s) == set(HANDLER_MODULES)
    assert set(imports.floors_s) == set(HANDLER_MODULES)
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
