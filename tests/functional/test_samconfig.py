"""``infra/samconfig.toml``: its dev and prod profiles override only parameters the template declares."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest

from batonflow.infra import load_template
from batonflow.infra.intrinsics import Resolver, StackContext
from batonflow.infra.provision import check_rules

SAMCONFIG = Path(__file__).resolve().parents[2] / "infra" / "samconfig.toml"


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_each_profile_deploys_a_named_stack_with_known_parameters(profile: str) -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    template = load_template()

    assert config[profile]["global"]["parameters"]["stack_name"]
    deploy = config[profile]["deploy"]["parameters"]
    capabilities = set(deploy["capabilities"].split())
    # roles (CAPABILITY_IAM); the AWS::LanguageExtensions transform is a macro (CAPABILITY_AUTO_EXPAND)
    assert capabilities == {"CAPABILITY_IAM"} | (
        {"CAPABILITY_AUTO_EXPAND"} if "AWS::LanguageExtensions" in template.document["Transform"] else set()
    )
    overrides = dict(item.split("=", 1) for item in shlex.split(deploy["parameter_overrides"]))
    assert overrides
    assert set(overrides) <= set(template.parameters)
    for name, value in overrides.items():
        allowed = template.parameters[name].get("AllowedValues")
        assert allowed is None or value in allowed, (name, value)
    resolver = Resolver(
        StackContext(stack_name="samconfig", region="us-east-1"),
        parameters=template.parameter_values(overrides),
        conditions=template.conditions,
    )
    check_rules(template.rules, resolver)  # CloudFormation would refuse the deploy otherwise
