"""Logs, metrics and traces of every handler (Powertools), wired once per container.

- **Logs**: one Powertools ``Logger`` (JSON lines). The service modules log with the standard library under
  ``batonflow.*``; :func:`instrument` routes those loggers to the same JSON handler, so their lines carry
  the Lambda context and the correlation keys a handler appends (``workflowId``, ``taskId``,
  ``taskType``). Log lines name ids, types and statuses, never inputs or outputs, unless the template's
  ``LogPayloads`` parameter is ``true`` (``Settings.log_payloads``).
- **Metrics**: what the invocation counted (:mod:`batonflow.metrics`) is published at its end as one EMF
  line, one value per metric name: no API call, nothing when nothing was counted.
- **Traces**: only when the template's ``Tracing`` parameter is ``Active``
  (``POWERTOOLS_TRACE_DISABLED=false``). Creating a Powertools ``Tracer`` imports the X-Ray SDK (some
  200 ms of cold start), so with tracing off it is never created.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from batonflow import metrics as counts

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "Baton"
SERVICE_ENV = "POWERTOOLS_SERVICE_NAME"
DEFAULT_SERVICE = "baton"
TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
SERVICE_LOGGERS = (
    "batonflow.api",
    "batonflow.service",
    "batonflow.store",
    "batonflow.queues",
    "batonflow.system_tasks",
)
"""The standard-library loggers of the code the handlers run (not ``batonflow.emulator``, which imports
handlers in-process and keeps its own log configuration)."""

logger = Logger(service=os.environ.get(SERVICE_ENV) or DEFAULT_SERVICE)
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get(TRACE_DISABLED_ENV, "true").strip().lower() == "false"


def publish_metrics() -> None:
    """Publish what was counted since the last publication as one EMF line (nothing if nothing was)."""
    counted = counts.drain()
    if not counted:
        return
    # read at publication, not at import: the emulator and the tests import a handler once per process
    # and run stacks of different names with it
    metrics.namespace = os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
    metrics.service = os.environ.get(SERVICE_ENV) or DEFAULT_SERVICE
    for metric, value in counted.items():
        metrics.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()
    metrics.clear_metrics()  # flush keeps them when POWERTOOLS_METRICS_DISABLED is set


def _route_service_logs() -> None:
    for name in SERVICE_LOGGERS:
        target = logging.getLogger(name)
        target.handlers = list(logger.handlers)
        target.setLevel(logger.log_level)
        target.propagate = False


def instrument(handler: Handler) -> Handler:
    """Wrap a Lambda handler: Lambda context and fresh correlation keys on every log line, the invocation's
    metrics published once at its end, and a trace when tracing is on."""
    _route_service_logs()

    @functools.wraps(handler)
    def published(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            publish_metrics()

    wrapped = logger.inject_lambda_context(clear_state=True)(published)
    if tracing_enabled():
        from aws_lambda_powertools import Tracer

        # a handler's response (an API response, a batch's failures) may hold payloads: not in the trace
        wrapped = Tracer().capture_lambda_handler(wrapped, capture_response=False)
    return wrapped  # type: ignore[return-value]
