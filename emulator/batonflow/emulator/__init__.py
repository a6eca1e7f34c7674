"""``baton up``: the Baton stack in one process, on an embedded moto server or any AWS-compatible endpoint.

Start with :class:`BatonStack`; :class:`LocalGateway` turns HTTP requests into API Gateway events without
sockets, for tests.
"""

from batonflow.emulator.dynamodb_streams import StreamPoller, StreamSource
from batonflow.emulator.environment import WORKER_VARIABLES, shared_environment
from batonflow.emulator.errors import EmulatorError, EnvironmentConflictError, HandlerImportError
from batonflow.emulator.event_sources import SqsPoller, SqsSource, sqs_record
from batonflow.emulator.gateway import HttpRequest, HttpResponse, LocalGateway, Route, routes_from
from batonflow.emulator.http_server import GatewayServer
from batonflow.emulator.lambda_runtime import (
    Invocation,
    Invoker,
    LambdaContext,
    LocalFunction,
    direct_invoke,
    import_handler,
)
from batonflow.emulator.moto_server import MotoServer
from batonflow.emulator.schedules import ScheduleRunner, scheduled_event
from batonflow.emulator.stack import BatonStack
from batonflow.emulator.ttl import TtlSweeper

__all__ = [
    "WORKER_VARIABLES",
    "BatonStack",
    "EmulatorError",
    "EnvironmentConflictError",
    "GatewayServer",
    "HandlerImportError",
    "HttpRequest",
    "HttpResponse",
    "Invocation",
    "Invoker",
    "LambdaContext",
    "LocalFunction",
    "LocalGateway",
    "MotoServer",
    "Route",
    "ScheduleRunner",
    "SqsPoller",
    "SqsSource",
    "StreamPoller",
    "StreamSource",
    "TtlSweeper",
    "direct_invoke",
    "import_handler",
    "routes_from",
    "scheduled_event",
    "shared_environment",
    "sqs_record",
]
