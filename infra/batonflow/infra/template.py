"""Read ``template.yaml``: the one description of Baton's resources, for AWS and for the local stack.

The emulator and the tests never keep their own list of tables, queues, routes or batch sizes; they ask
this module. It parses the SAM template (short-form intrinsics included), applies ``Globals.Function`` the
way the SAM transform does, and turns each ``AWS::Serverless::Function`` into a :class:`FunctionSpec`
whose environment is resolved against what was provisioned (see :mod:`batonflow.infra.intrinsics`).

Only the SAM features the local stack can honour are read: HttpApi, SQS, Schedule and DynamoDB (stream)
events. A function with an event type we cannot emulate raises :class:`TemplateError` rather than silently
never firing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from batonflow.infra.errors import TemplateError
from batonflow.infra.intrinsics import Resolver

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
IMPLICIT_HTTP_API = "ServerlessHttpApi"
"""Logical id SAM gives the HTTP API it creates when an HttpApi event names no ``ApiId``."""

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_RATE_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class SqsEvent:
    """An SQS event source mapping. ``batching_window_s`` is kept for completeness; see the emulator."""

    name: str
    queue_logical_id: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    batching_window_s: int = 0
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleEvent:
    """An EventBridge schedule; only ``rate(...)`` expressions are supported locally."""

    name: str
    rate_seconds: int
    enabled: bool = True
    input: Any = None


@dataclass(frozen=True)
class HttpApiEvent:
    """One HTTP API route, e.g. ``ANY /api/{proxy+}``."""

    name: str
    method: str
    path: str
    api_logical_id: str = IMPLICIT_HTTP_API

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class DynamoDbEvent:
    """A DynamoDB stream event source mapping; ``filters`` are the FilterCriteria patterns, parsed."""

    name: str
    table_logical_id: str
    starting_position: str = "LATEST"
    batch_size: int = 100
    report_batch_item_failures: bool = False
    filters: tuple[Mapping[str, Any], ...] = ()
    enabled: bool = True


FunctionEvent = SqsEvent | ScheduleEvent | HttpApiEvent | DynamoDbEvent
EventT = TypeVar("EventT", SqsEvent, ScheduleEvent, HttpApiEvent, DynamoDbEvent)


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function as the template describes it, environment resolved."""

    logical_id: str
    handler: str
    environment: Mapping[str, str]
    memory_mb: int = 128
    timeout_s: int = 3
    events: tuple[FunctionEvent, ...] = ()
    runtime: str = ""
    function_name: str = ""

    def events_of(self, kind: type[EventT]) -> list[EventT]:
        return [event for event in self.events if isinstance(event, kind)]


@dataclass(frozen=True)
class Template:
    """A parsed SAM/CloudFormation template."""

    document: Mapping[str, Any]
    path: Path | None = None

    @property
    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        return self.document.get("Parameters") or {}

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        return self.document.get("Resources") or {}

    @property
    def conditions(self) -> Mapping[str, Any]:
        return self.document.get("Conditions") or {}

    @property
    def rules(self) -> Mapping[str, Any]:
        return self.document.get("Rules") or {}

    def resources_of_type(self, *types: str) -> dict[str, Mapping[str, Any]]:
        return {name: res for name, res in self.resources.items() if res.get("Type") in types}

    def parameter_values(self, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Parameter values as CloudFormation passes them: strings, defaults unless overridden."""
        overrides = dict(overrides or {})
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
        values: dict[str, str] = {}
        for name, spec in self.parameters.items():
            if name in overrides:
                value = overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default and no value was given")
            allowed = spec.get("AllowedValues")
            if allowed is not None and str(value) not in [str(item) for item in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            values[name] = env_string(value)
        return values

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """A function's properties with ``Globals.Function`` applied, intrinsics left unresolved."""
        resource = self.resources.get(logical_id)
        if resource is None or resource.get("Type") != SERVERLESS_FUNCTION:
            raise TemplateError(f"{logical_id} is not an {SERVERLESS_FUNCTION}")
        globals_ = (self.document.get("Globals") or {}).get("Function") or {}
        return _merge_globals(globals_, resource.get("Properties") or {})

    def functions(self, resolver: Resolver) -> list[FunctionSpec]:
        """Every serverless function, in template order, with its environment resolved."""
        return [
            _function_spec(name, self.function_properties(name), resolver)
            for name in self.resources_of_type(SERVERLESS_FUNCTION)
        ]


def load_template(path: str | Path | None = None) -> Template:
    """Parse ``path``, or the project's ``template.yaml`` when none is given (see :func:`find_template`)."""
    resolved = Path(path) if path is not None else find_template()
    try:
        text = resolved.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {resolved}: {exc}") from exc
    return Template(document=parse_template(text), path=resolved)


def find_template() -> Path:
    """Locate ``template.yaml``.

    From a source checkout (editable install) it is the repo root, the folder holding ``infra/batonflow``;
    in a wheel it is the copy packaged next to this module. Parents are only accepted when they hold
    ``infra/batonflow``, so an unrelated ``template.yaml`` higher up is never picked by accident.
    """
    here = Path(__file__).resolve().parent
    candidates = [
        parent / "template.yaml" for parent in here.parents if (parent / "infra" / "batonflow").is_dir()
    ]
    candidates.append(here / "template.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise TemplateError(f"template.yaml not found (looked at {[str(c) for c in candidates]})")


def parse_template(text: str) -> dict[str, Any]:
    """Parse YAML or JSON template text; short-form tags get their long form (``!Ref X`` → ``{"Ref": X}``)."""
    try:
        document = yaml.load(text, Loader=_TemplateLoader)
    except yaml.YAMLError as exc:
        raise TemplateError(f"invalid template: {exc}") from exc
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError("a template must be a mapping with a Resources section")
    return document


def env_string(value: Any) -> str:
    """Render a value as CloudFormation does for environment variables (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_rate(expression: str) -> int:
    """Seconds between runs of an EventBridge ``rate(...)`` expression."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise TemplateError(f"unsupported schedule {expression!r}: the local stack runs rate(...) only")
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return amount * _RATE_UNIT_SECONDS[unit]


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic tags."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rules: maps merge (the function wins), lists concatenate, anything else is replaced."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if _is_intrinsic(global_value) or _is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _function_spec(logical_id: str, props: Mapping[str, Any], resolver: Resolver) -> FunctionSpec:
    if "Handler" not in props:
        raise TemplateError(f"{logical_id}: no Handler (container-image functions cannot run locally)")
    variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
    return FunctionSpec(
        logical_id=logical_id,
        handler=str(resolver.resolve(props["Handler"])),
        environment={name: env_string(value) for name, value in variables.items()},
        memory_mb=int(resolver.resolve(props.get("MemorySize", 128))),
        timeout_s=int(resolver.resolve(props.get("Timeout", 3))),
        events=tuple(
            _event(logical_id, name, event, resolver) for name, event in (props.get("Events") or {}).items()
        ),
        runtime=str(resolver.resolve(props.get("Runtime", ""))),
        function_name=function_name(logical_id, props, resolver),
    )


def function_name(logical_id: str, props: Mapping[str, Any], resolver: Resolver) -> str:
    """``FunctionName``, else ``<stack>-<LogicalId>`` (SAM adds a random suffix; reruns must be stable)."""
    default = f"{resolver.context.stack_name}-{logical_id}"
    return str(resolver.resolve(props.get("FunctionName", default)))


def _event(function: str, name: str, event: Mapping[str, Any], resolver: Resolver) -> FunctionEvent:
    kind = event.get("Type")
    props = event.get("Properties") or {}
    if kind == "SQS":
        return SqsEvent(
            name=name,
            queue_logical_id=_queue_logical_id(function, name, props.get("Queue")),
            batch_size=int(resolver.resolve(props.get("BatchSize", 10))),
            report_batch_item_failures="ReportBatchItemFailures"
            in resolver.resolve(props.get("FunctionResponseTypes", [])),
            batching_window_s=int(resolver.resolve(props.get("MaximumBatchingWindowInSeconds", 0))),
            enabled=bool(resolver.resolve(props.get("Enabled", True))),
        )
    if kind == "Schedule":
        raw_input = resolver.resolve(props.get("Input"))
        enabled = resolver.resolve(props.get("Enabled", True)) and props.get("State", "ENABLED") == "ENABLED"
        return ScheduleEvent(
            name=name,
            rate_seconds=parse_rate(str(resolver.resolve(props.get("Schedule", "")))),
            enabled=bool(enabled),
            input=json.loads(raw_input) if raw_input is not None else None,
        )
    if kind == "HttpApi":
        api = props.get("ApiId")
        return HttpApiEvent(
            name=name,
            method=str(props.get("Method", "ANY")).upper().replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"),
            path=str(props.get("Path", "$default")),
            api_logical_id=api["Ref"] if isinstance(api, dict) and "Ref" in api else IMPLICIT_HTTP_API,
        )
    if kind == "DynamoDB":
        return DynamoDbEvent(
            name=name,
            table_logical_id=_stream_table_logical_id(function, name, props.get("Stream")),
            starting_position=str(resolver.resolve(props.get("StartingPosition", "LATEST"))),
            batch_size=int(resolver.resolve(props.get("BatchSize", 100))),
            report_batch_item_failures="ReportBatchItemFailures"
            in resolver.resolve(props.get("FunctionResponseTypes", [])),
            filters=_filter_patterns(function, name, resolver.resolve(props.get("FilterCriteria") or {})),
            enabled=bool(resolver.resolve(props.get("Enabled", True))),
        )
    raise TemplateError(f"{function}.{name}: event type {kind!r} is not supported by the local stack")


def _stream_table_logical_id(function: str, event: str, stream: Any) -> str:
    """The table whose stream a DynamoDB event reads, from ``!GetAtt T.StreamArn``."""
    if isinstance(stream, dict) and "Fn::GetAtt" in stream and stream["Fn::GetAtt"][1] == "StreamArn":
        return str(stream["Fn::GetAtt"][0])
    raise TemplateError(
        f"{function}.{event}: Stream must be !GetAtt <TableLogicalId>.StreamArn, got {stream!r}"
    )


def _filter_patterns(function: str, event: str, criteria: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    patterns = []
    for entry in criteria.get("Filters") or []:
        try:
            pattern = json.loads(entry["Pattern"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TemplateError(f"{function}.{event}: invalid FilterCriteria pattern {entry!r}") from exc
        if not isinstance(pattern, dict):
            raise TemplateError(f"{function}.{event}: a filter pattern must be a JSON object")
        patterns.append(pattern)
    return tuple(patterns)


def _queue_logical_id(function: str, event: str, queue: Any) -> str:
    """The queue an SQS event reads, from ``!GetAtt Q.Arn`` or ``!Sub "${Q.Arn}"``."""
    if isinstance(queue, dict) and "Fn::GetAtt" in queue:
        return str(queue["Fn::GetAtt"][0])
    if isinstance(queue, dict) and isinstance(queue.get("Fn::Sub"), str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}", queue["Fn::Sub"])
        if match:
            return match.group(1)
    raise TemplateError(f"{function}.{event}: Queue must be !GetAtt <QueueLogicalId>.Arn, got {queue!r}")
