"""Deploy-time helpers: read ``template.yaml``, provision its resources into any AWS-compatible endpoint."""

from batonflow.infra.errors import InfraError, ProvisionError, TemplateError, UnresolvableError
from batonflow.infra.intrinsics import Physical, Resolver, StackContext
from batonflow.infra.provision import DEFAULT_REGION, DEFAULT_STACK_NAME, ProvisionedStack, provision
from batonflow.infra.resources import LOCAL_CREDENTIALS, AwsClients, local_session
from batonflow.infra.template import (
    DynamoDbEvent,
    FunctionSpec,
    HttpApiEvent,
    ScheduleEvent,
    SqsEvent,
    Template,
    find_template,
    load_template,
)

__all__ = [
    "DEFAULT_REGION",
    "DEFAULT_STACK_NAME",
    "LOCAL_CREDENTIALS",
    "AwsClients",
    "DynamoDbEvent",
    "FunctionSpec",
    "HttpApiEvent",
    "InfraError",
    "Physical",
    "ProvisionError",
    "ProvisionedStack",
    "Resolver",
    "ScheduleEvent",
    "SqsEvent",
    "StackContext",
    "Template",
    "TemplateError",
    "UnresolvableError",
    "find_template",
    "load_template",
    "local_session",
    "provision",
]
