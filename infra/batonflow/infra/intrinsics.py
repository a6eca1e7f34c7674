"""Resolve CloudFormation intrinsic functions against a local stack.

CloudFormation resolves ``Ref``/``GetAtt``/``Sub`` at deploy time; locally we do it ourselves, given what
:mod:`batonflow.infra.provision` created. Only what a template like ours needs is supported — ``Ref``,
``Fn::GetAtt``, ``Fn::Sub`` (both forms), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` with the
condition functions, and the pseudo parameters — and anything else fails loudly with
:class:`UnresolvableError` instead of leaking an unresolved ``{"Ref": ...}`` into a function's environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batonflow.infra.errors import UnresolvableError

NO_VALUE = object()
"""What ``Ref: AWS::NoValue`` resolves to; containers drop it, as CloudFormation does."""

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_SUB_LITERAL = re.compile(r"\$\{!")


@dataclass(frozen=True)
class Physical:
    """What a logical resource became: the value of its ``Ref`` and its ``Fn::GetAtt`` attributes."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StackContext:
    """Pseudo parameters of a stack. The account id is moto's default unless told otherwise."""

    stack_name: str
    region: str
    account_id: str = "123456789012"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def pseudo_parameters(self) -> dict[str, Any]:
        arn_prefix = f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}"
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackId": f"{arn_prefix}:stack/{self.stack_name}/local",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }


class Resolver:
    """Evaluates intrinsic functions in a template fragment.

    ``parameters`` holds parameter values as CloudFormation passes them (strings); ``resources`` maps a
    logical id to its :class:`Physical`; ``conditions`` holds the template's ``Conditions`` section,
    evaluated lazily. A reference to a logical id missing from ``resources`` raises, which is how
    provisioning finds out that a resource must be created before another.
    """

    def __init__(
        self,
        context: StackContext,
        *,
        parameters: Mapping[str, Any] | None = None,
        resources: Mapping[str, Physical] | None = None,
        conditions: Mapping[str, Any] | None = None,
    ) -> None:
        self.context = context
        self.parameters = dict(parameters or {})
        self.resources = resources if resources is not None else {}
        self._conditions = dict(conditions or {})
        self._pseudo = context.pseudo_parameters()

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic function replaced by its result."""
        if isinstance(value, list):
            items = (self.resolve(item) for item in value)
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name].ref
        raise UnresolvableError(f"Ref {name}: no parameter, pseudo parameter or provisioned resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        physical = self.resources.get(logical_id)
        if physical is None:
            raise UnresolvableError(f"Fn::GetAtt {logical_id}.{attribute}: resource not provisioned")
        if attribute not in physical.attributes:
            raise UnresolvableError(
                f"Fn::GetAtt {logical_id}.{attribute}: unknown attribute (have {sorted(physical.attributes)})"
            )
        return physical.attributes[attribute]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise UnresolvableError(f"unknown condition {name}")
        return bool(self.resolve(self._conditions[name]))

    def substitute(self, template: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        # "${!Literal}" renders as "${Literal}" and is never substituted.
        parts = _SUB_LITERAL.split(template)
        return "${".join(_SUB_VARIABLE.sub(replace, part) for part in parts)


def _ref(resolver: Resolver, argument: Any) -> Any:
    return resolver.ref(resolver.resolve(argument))


def _get_att(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    logical_id, attribute = resolver.resolve(argument)
    return resolver.get_att(logical_id, attribute)


def _sub(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, str):
        return resolver.substitute(argument, {})
    template, variables = argument
    return resolver.substitute(template, resolver.resolve(variables))


def _join(resolver: Resolver, argument: Any) -> str:
    delimiter, items = argument
    return str(delimiter).join(str(item) for item in resolver.resolve(items))


def _select(resolver: Resolver, argument: Any) -> Any:
    index, items = resolver.resolve(argument)
    return items[int(index)]


def _split(resolver: Resolver, argument: Any) -> list[str]:
    delimiter, text = resolver.resolve(argument)
    return str(text).split(delimiter)


def _if(resolver: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(name) else when_false)


def _equals(resolver: Resolver, argument: Any) -> bool:
    left, right = resolver.resolve(argument)
    return str(left) == str(right)


def _not(resolver: Resolver, argument: Any) -> bool:
    (value,) = argument
    return not resolver.resolve(value)


def _and(resolver: Resolver, argument: Any) -> bool:
    return all(resolver.resolve(item) for item in argument)


def _or(resolver: Resolver, argument: Any) -> bool:
    return any(resolver.resolve(item) for item in argument)


def _condition(resolver: Resolver, argument: Any) -> bool:
    return resolver.condition(argument)


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Condition": _condition,
}


def references(value: Any) -> set[str]:
    """Logical ids (and parameter/pseudo names) a fragment refers to, for ordering resource creation."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(argument.split(".", 1)[0] if isinstance(argument, str) else argument[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                variables = {} if isinstance(argument, str) else argument[1]
                names = {name.strip().split(".", 1)[0] for name in _SUB_VARIABLE.findall(text)}
                found |= (names - set(variables)) | references(variables)
            else:
                found |= references(argument)
    return found
