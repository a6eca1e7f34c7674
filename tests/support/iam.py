"""What template.yaml lets each function do, and which IAM action an AWS call needs.

A function's grants are the statements of its ``Policies``: inline ``Statement`` lists and references
(``!Ref``) to the template's own ``AWS::IAM::ManagedPolicy`` resources. Anything else there (a SAM policy
template such as ``DynamoDBCrudPolicy``, an AWS managed policy by name) grants actions nobody listed, so
reading it raises. What SAM adds on its own (logs, event source and stream reads, X-Ray) is not in the
template and not read here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from batonflow.infra.template import SERVERLESS_FUNCTION, Template

MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
IAM_POLICY_TYPES = (MANAGED_POLICY, "AWS::IAM::Policy", "AWS::IAM::Role")

_BATCH_OPERATIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
"""SQS batch operations are authorised by the action of their single-message form."""


class PolicyError(Exception):
    """A function's Policies hold something other than explicit statements."""


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API call needs: ``sqs:SendMessage`` for ``SendMessageBatch``, and so on."""
    return f"{service}:{_BATCH_OPERATIONS.get(operation, operation)}"


def function_statements(template: Template, function: str) -> list[Mapping[str, Any]]:
    """Every statement granted to ``function`` by its Policies (managed policies of the template expanded)."""
    statements: list[Mapping[str, Any]] = []
    for entry in template.function_properties(function).get("Policies") or []:
        if isinstance(entry, Mapping) and set(entry) == {"Statement"}:
            statements.extend(entry["Statement"])
            continue
        if isinstance(entry, Mapping) and set(entry) == {"Ref"}:
            resource = template.resources.get(entry["Ref"]) or {}
            if resource.get("Type") == MANAGED_POLICY:
                statements.extend(policy_statements(resource))
                continue
        raise PolicyError(f"{function}: {entry!r} is not an explicit statement list or a policy of the stack")
    return statements


def policy_statements(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy resource of the template (a role's inline policies included)."""
    props = resource.get("Properties") or {}
    documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
    documents += [policy["PolicyDocument"] for policy in props.get("Policies") or []]
    statements: list[Mapping[str, Any]] = []
    for document in documents:
        found = document["Statement"]
        statements.extend([found] if isinstance(found, Mapping) else found)
    return statements


def all_statements(template: Template) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(owner, statement) for every statement the template grants: functions' and IAM resources'."""
    for function in template.resources_of_type(SERVERLESS_FUNCTION):
        for statement in function_statements(template, function):
            yield function, statement
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
