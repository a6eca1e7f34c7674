"""What template.yaml lets each function do, and which IAM action an AWS call needs.

A function's grants are those of its own role: ``Role: !GetAtt <Role>.Arn`` names an ``AWS::IAM::Role`` of
the template, whose inline ``Policies`` and ``ManagedPolicyArns`` (``!Ref`` of the template's own
``AWS::IAM::ManagedPolicy`` resources) are all it is granted. A function with SAM ``Policies``, or without
such a role, makes SAM generate a role and attach AWS managed policies with ``*`` resources (logs, event
sources, X-Ray) that nobody listed, so reading it raises; so does a managed policy named by ARN.

A statement list may hold ``!If [Condition, statement, !Ref AWS::NoValue]``: the statement is granted only
when the condition holds. :func:`policy_entries` keeps the condition; everything else reads both cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from batonflow.infra.template import Template

MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
ROLE = "AWS::IAM::Role"
IAM_POLICY_TYPES = (MANAGED_POLICY, "AWS::IAM::Policy", ROLE)
NO_VALUE = {"Ref": "AWS::NoValue"}

_BATCH_OPERATIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "DeleteObjects": "DeleteObject",
    "ListObjectsV2": "ListBucket",
}
"""Operations authorised by another action's name: SQS batches and S3's multi-object delete by their
single-item form, S3's object listing by ``s3:ListBucket``."""


class PolicyError(Exception):
    """A function is granted something other than explicit statements of the template."""


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API call needs: ``sqs:SendMessage`` for ``SendMessageBatch``, and so on."""
    return f"{service}:{_BATCH_OPERATIONS.get(operation, operation)}"


def function_role(template: Template, function: str) -> str:
    """The logical id of ``function``'s role, an ``AWS::IAM::Role`` of the template."""
    props = template.function_properties(function)
    if "Policies" in props:
        raise PolicyError(
            f"{function}: Policies make SAM generate a role with AWS managed policies; use Role"
        )
    role = props.get("Role")
    if not (
        isinstance(role, Mapping) and set(role) == {"Fn::GetAtt"} and list(role["Fn::GetAtt"])[1:] == ["Arn"]
    ):
        raise PolicyError(f"{function}: Role must be !GetAtt <a role of the template>.Arn, got {role!r}")
    name = str(role["Fn::GetAtt"][0])
    if (template.resources.get(name) or {}).get("Type") != ROLE:
        raise PolicyError(f"{function}: {name} is not an {ROLE} of the template")
    return name


def role_policies(template: Template, role: str) -> list[Mapping[str, Any]]:
    """The role itself (its inline policies) and the template's managed policies it attaches."""
    resource = template.resources[role]
    policies = [resource]
    for arn in (resource.get("Properties") or {}).get("ManagedPolicyArns") or []:
        name = arn.get("Ref") if isinstance(arn, Mapping) and set(arn) == {"Ref"} else None
        managed = template.resources.get(name) if isinstance(name, str) else None
        if managed is None or managed.get("Type") != MANAGED_POLICY:
            raise PolicyError(f"{role}: {arn!r} is not a managed policy of the stack")
        policies.append(managed)
    return policies


def function_entries(template: Template, function: str) -> list[tuple[str | None, Mapping[str, Any]]]:
    """(condition, statement) for everything ``function``'s role grants (see :func:`policy_entries`)."""
    role = function_role(template, function)
    return [entry for policy in role_policies(template, role) for entry in policy_entries(policy)]


def function_statements(template: Template, function: str) -> list[Mapping[str, Any]]:
    """Every statement granted to ``function`` by its role, conditional ones included."""
    return [statement for _, statement in function_entries(template, function)]


def policy_entries(resource: Mapping[str, Any]) -> list[tuple[str | None, Mapping[str, Any]]]:
    """(condition, statement) for each statement of an IAM resource of the template (a role's inline
    policies, not its trust policy); condition is None for a statement that is always granted."""
    props = resource.get("Properties") or {}
    documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
    documents += [policy["PolicyDocument"] for policy in props.get("Policies") or []]
    entries: list[tuple[str | None, Mapping[str, Any]]] = []
    for document in documents:
        found = document["Statement"]
        for entry in [found] if isinstance(found, Mapping) else found:
            entries.append(_conditional(entry))
    return entries


def _conditional(entry: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    if set(entry) != {"Fn::If"}:
        return None, entry
    condition, statement, otherwise = entry["Fn::If"]
    if otherwise != NO_VALUE or not isinstance(statement, Mapping):
        raise PolicyError(
            f"a conditional statement must be !If [Condition, statement, !Ref AWS::NoValue]: {entry!r}"
        )
    return str(condition), statement


def policy_statements(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The statements of an IAM resource of the template, conditional ones included."""
    return [statement for _, statement in policy_entries(resource)]


def all_statements(template: Template) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(owner, statement) for every statement of the template's roles and policies. Functions have none
    of their own: :func:`function_role` refuses ``Policies``."""
    for name, resource in template.resources_of_type(*IAM_POLICY_TYPES).items():
        for statement in policy_statements(resource):
            yield name, statement


def listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def grants(
    statements: list[Mapping[str, Any]], resource_names: Callable[[Any], list[str]]
) -> dict[str, frozenset[str]]:
    """Action -> the resources it is allowed on, over ``statements``; ``resource_names`` turns a
    statement's Resource entry into names (symbolic for the table in the tests, ARNs on a stack)."""
    granted: dict[str, set[str]] = {}
    for statement in statements:
        if statement.get("Effect") != "Allow":
            raise PolicyError(f"only Allow statements are expected: {statement!r}")
        resources = [name for value in listed(statement["Resource"]) for name in resource_names(value)]
        for action in listed(statement["Action"]):
            granted.setdefault(action, set()).update(resources)
    return {action: frozenset(resources) for action, resources in granted.items()}
