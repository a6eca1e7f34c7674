"""Provision a template's data resources into moto, LocalStack or any AWS-compatible endpoint.

``sam deploy`` is how Baton reaches AWS; this module is how the local stack gets the *same* tables,
queues and buckets. It walks ``template.yaml`` generically: every resource whose type has a provisioner
(:data:`batonflow.infra.resources.PROVISIONERS`) is created, in dependency order (a queue's redrive policy
needs its DLQ's ARN, so the DLQ comes first), with its properties resolved against what already exists.

Functions and HTTP APIs are not created at the endpoint — moto cannot run Lambda code without Docker —
but they get a :class:`Physical` too (a function name and ARN, an API id), so ``!Ref ApiFunction`` in an
environment variable resolves the same way it would on AWS. The emulator runs them in-process.

Provisioning is idempotent: running it twice against one endpoint reuses what exists.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from batonflow.infra.errors import ProvisionError, TemplateError, UnresolvableError
from batonflow.infra.intrinsics import Physical, Resolver, StackContext, references
from batonflow.infra.resources import PROVISIONERS, AwsClients
from batonflow.infra.template import SERVERLESS_FUNCTION, FunctionSpec, Template, function_name

logger = logging.getLogger(__name__)

DEFAULT_STACK_NAME = "baton-dev"
DEFAULT_REGION = "us-east-1"
_HTTP_API_TYPES = ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api")


@dataclass(frozen=True)
class ProvisionedStack:
    """What :func:`provision` made: physical resources by logical id and each function's resolved spec."""

    template: Template
    context: StackContext
    parameters: Mapping[str, str]
    resources: Mapping[str, Physical]
    functions: tuple[FunctionSpec, ...]
    endpoint_url: str | None = None
    skipped: tuple[str, ...] = field(default=())

    @property
    def stack_name(self) -> str:
        return self.context.stack_name

    @property
    def region(self) -> str:
        return self.context.region

    def function(self, logical_id: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.logical_id == logical_id:
                return spec
        raise KeyError(logical_id)

    def resolver(self) -> Resolver:
        """A resolver over this stack, e.g. to evaluate the template's ``Outputs``."""
        return Resolver(
            self.context,
            parameters=self.parameters,
            resources=self.resources,
            conditions=self.template.conditions,
        )


def check_rules(rules: Mapping[str, Any], resolver: Resolver) -> None:
    """Refuse parameter values the template's ``Rules`` reject, before creating anything, as CloudFormation
    does: a rule whose ``RuleCondition`` holds must have every ``Assert`` true."""
    for name, rule in rules.items():
        condition = rule.get("RuleCondition")
        if condition is not None and not resolver.resolve(condition):
            continue
        for assertion in rule.get("Assertions") or []:
            if not resolver.resolve(assertion["Assert"]):
                raise TemplateError(
                    f"rule {name}: {assertion.get('AssertDescription', 'an assertion failed')}"
                )


def provision(
    template: Template,
    *,
    session_or_clients: Any = None,
    endpoint_url: str | None = None,
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = DEFAULT_REGION,
    parameters: Mapping[str, Any] | None = None,
) -> ProvisionedStack:
    """Create the template's tables, queues and buckets at ``endpoint_url``; return what exists.

    ``session_or_clients`` is an :class:`AwsClients`, a ``boto3.session.Session`` (clients are built for
    ``endpoint_url`` and ``region``), or ``None``: dummy credentials for a local endpoint, the default
    credential chain when ``endpoint_url`` is ``None``.
    """
    values = template.parameter_values(parameters)
    order = _creation_order(template)
    clients = _clients(session_or_clients, endpoint_url, region)
    context = StackContext(stack_name=stack_name, region=region, account_id=_account_id(clients))
    resources: dict[str, Physical] = {}
    resolver = Resolver(context, parameters=values, resources=resources, conditions=template.conditions)
    check_rules(template.rules, resolver)
    skipped = []
    for logical_id in order:
        resource = template.resources[logical_id]
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            skipped.append(logical_id)
            continue
        props = resolver.resolve(resource.get("Properties") or {})
        try:
            resources[logical_id] = PROVISIONERS[resource["Type"]](clients, logical_id, props, context)
        except (ClientError, BotoCoreError) as exc:
            raise ProvisionError(
                f"{logical_id} ({resource['Type']}) at {endpoint_url or 'AWS'}: {exc}"
            ) from exc
        logger.debug("provisioned %s -> %s", logical_id, resources[logical_id].ref)
    resources.update(_emulated_resources(template, resolver))
    return ProvisionedStack(
        template=template,
        context=context,
        parameters=values,
        resources=resources,
        functions=tuple(template.functions(resolver)),
        endpoint_url=endpoint_url,
        skipped=tuple(skipped),
    )


def _clients(session_or_clients: Any, endpoint_url: str | None, region: str) -> AwsClients:
    if isinstance(session_or_clients, AwsClients):
        return session_or_clients
    if session_or_clients is None:
        return AwsClients.for_endpoint(endpoint_url, region=region)
    return AwsClients.from_session(session_or_clients, region=region, endpoint_url=endpoint_url)


def _account_id(clients: AwsClients) -> str:
    """The endpoint's account (moto: 123456789012, LocalStack: 000000000000), so ARNs we build match."""
    default = StackContext(stack_name="", region="").account_id
    if clients.sts is None:
        return default
    try:
        return str(clients.sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError):
        return default


def _creation_order(template: Template) -> list[str]:
    """Provisionable resources, each after the resources it refers to (Ref, GetAtt, Sub, DependsOn)."""
    wanted = {name for name, res in template.resources.items() if res.get("Type") in PROVISIONERS}
    dependencies = {}
    for name in wanted:
        resource = template.resources[name]
        depends_on = resource.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        refs = references(resource.get("Properties") or {}) | set(depends_on)
        unknown = {ref for ref in refs if ref in template.resources and ref not in wanted}
        if unknown:
            raise UnresolvableError(
                f"{name} refers to {sorted(unknown)}, which the local stack cannot create"
            )
        dependencies[name] = refs & wanted
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise TemplateError(f"circular dependency through {name}")
        visiting.add(name)
        for dependency in sorted(dependencies[name]):
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in template.resources:
        if name in wanted:
            visit(name)
    return order


def _emulated_resources(template: Template, resolver: Resolver) -> dict[str, Physical]:
    """Physical ids for what the emulator runs in-process instead of creating at the endpoint."""
    context = resolver.context
    emulated: dict[str, Physical] = {}
    for name in template.resources_of_type(SERVERLESS_FUNCTION):
        function = function_name(name, template.function_properties(name), resolver)
        arn = f"arn:{context.partition}:lambda:{context.region}:{context.account_id}:function:{function}"
        emulated[name] = Physical(ref=function, attributes={"Arn": arn})
    for name in template.resources_of_type(*_HTTP_API_TYPES):
        api_id = local_api_id(context.stack_name, name)
        emulated[name] = Physical(ref=api_id, attributes={"ApiId": api_id})
    return emulated


def local_api_id(stack_name: str, logical_id: str) -> str:
    """A stable, AWS-shaped (10 lowercase alphanumerics) id for a locally served HTTP API."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()
    return digest[:10]
