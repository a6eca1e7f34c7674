"""Reading template.yaml: short-form intrinsics, SAM Globals, intrinsic resolution, function specs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from batonflow.infra import (
    DynamoDbEvent,
    FunctionSpec,
    HttpApiEvent,
    Physical,
    Resolver,
    ScheduleEvent,
    SqsEvent,
    StackContext,
    Template,
    TemplateError,
    UnresolvableError,
    find_template,
    load_template,
)
from batonflow.infra.template import parse_rate, parse_template
from batonflow.model.wire import TASK_QUEUE_ATTRIBUTES, task_queue_name

REPO_ROOT = Path(__file__).resolve().parents[2]

CONTEXT = StackContext(stack_name="demo", region="eu-west-1", account_id="111122223333")
QUEUE = Physical(
    ref="http://sqs.local/111122223333/demo-q",
    attributes={"Arn": "arn:aws:sqs:eu-west-1:111122223333:demo-q", "QueueName": "demo-q"},
)


def resolver(**kwargs: object) -> Resolver:
    return Resolver(CONTEXT, parameters={"Size": "7"}, resources={"Queue": QUEUE}, **kwargs)  # type: ignore[arg-type]


def spec_of(template: Template, logical_id: str) -> FunctionSpec:
    return next(spec for spec in template.functions(resolver()) if spec.logical_id == logical_id)


def test_the_project_template_is_found_at_the_repo_root() -> None:
    assert find_template() == REPO_ROOT / "template.yaml"


def test_short_form_tags_become_long_form() -> None:
    document = parse_template(
        textwrap.dedent(
            """
            Resources:
              R:
                Type: X
                Properties:
                  A: !Ref Thing
                  B: !GetAtt Queue.Arn
                  C: !Sub "${AWS::StackName}-x"
                  D: !Sub ["${a}-b", {a: !Ref Size}]
                  E: !Join [",", [a, b]]
                  F: !Select [1, !Split [",", "a,b"]]
                  G: !If [IsProd, 1, 2]
                  H: !Equals [a, b]
            """
        )
    )

    props = document["Resources"]["R"]["Properties"]
    assert props == {
        "A": {"Ref": "Thing"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::Sub": "${AWS::StackName}-x"},
        "D": {"Fn::Sub": ["${a}-b", {"a": {"Ref": "Size"}}]},
        "E": {"Fn::Join": [",", ["a", "b"]]},
        "F": {"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]},
        "G": {"Fn::If": ["IsProd", 1, 2]},
        "H": {"Fn::Equals": ["a", "b"]},
    }


def test_a_document_without_resources_is_rejected() -> None:
    with pytest.raises(TemplateError):
        parse_template("Parameters: {}")


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ({"Ref": "Size"}, "7"),
        ({"Ref": "Queue"}, QUEUE.ref),
        ({"Ref": "AWS::AccountId"}, "111122223333"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, QUEUE.attributes["Arn"]),
        ({"Fn::GetAtt": "Queue.QueueName"}, "demo-q"),
        ({"Fn::Sub": "${AWS::StackName}-${AWS::Region}-${AWS::Partition}"}, "demo-eu-west-1-aws"),
        ({"Fn::Sub": "https://x.${AWS::URLSuffix}/${Queue}"}, f"https://x.amazonaws.com/{QUEUE.ref}"),
        ({"Fn::Sub": "${Queue.Arn}|${!Literal}"}, f"{QUEUE.attributes['Arn']}|${{Literal}}"),
        ({"Fn::Sub": ["${a}/${Size}", {"a": {"Ref": "AWS::StackName"}}]}, "demo/7"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Size"}]]}, "a-7"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}, "y"),
        ({"List": ["a", {"Ref": "AWS::NoValue"}]}, {"List": ["a"]}),
        ({"Kept": 1, "Dropped": {"Ref": "AWS::NoValue"}}, {"Kept": 1}),
    ],
)
def test_intrinsics_resolve(fragment: object, expected: object) -> None:
    assert resolver().resolve(fragment) == expected


def test_conditions_choose_the_if_branch() -> None:
    conditions = {
        "IsBig": {"Fn::Equals": [{"Ref": "Size"}, "7"]},
        "IsSmall": {"Fn::Not": [{"Condition": "IsBig"}]},
        "Either": {"Fn::Or": [{"Condition": "IsBig"}, {"Condition": "IsSmall"}]},
        "Both": {"Fn::And": [{"Condition": "IsBig"}, {"Condition": "IsSmall"}]},
    }
    r = resolver(conditions=conditions)

    assert r.resolve({"Fn::If": ["IsBig", "big", "small"]}) == "big"
    assert r.resolve([{"Fn::If": ["IsSmall", "small", {"Ref": "AWS::NoValue"}]}]) == []
    assert r.resolve({"Fn::If": ["Either", 1, 2]}) == 1
    assert r.resolve({"Fn::If": ["Both", 1, 2]}) == 2


@pytest.mark.parametrize(
    "fragment",
    [
        {"Ref": "Missing"},
        {"Fn::GetAtt": ["Missing", "Arn"]},
        {"Fn::GetAtt": ["Queue", "Nope"]},
        {"Fn::Sub": "${X}"},
    ],
)
def test_unknown_references_raise(fragment: object) -> None:
    with pytest.raises(UnresolvableError):
        resolver().resolve(fragment)


def test_globals_merge_like_sam() -> None:
    template = Template(
        document=parse_template(
            textwrap.dedent(
                """
                Globals:
                  Function:
                    Timeout: 60
                    MemorySize: 512
                    Layers: [a]
                    Environment:
                      Variables: {SHARED: g, OVERRIDDEN: g, QUEUE: !Ref Queue}
                Resources:
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: pkg.mod.handler
                      Timeout: 5
                      Layers: [b]
                      Environment:
                        Variables: {OVERRIDDEN: f, SIZE: !Ref Size}
                """
            )
        )
    )

    props = template.function_properties("Fn")
    spec = spec_of(template, "Fn")

    assert props["Layers"] == ["a", "b"]
    assert (spec.timeout_s, spec.memory_mb) == (5, 512)
    assert spec.environment == {"SHARED": "g", "OVERRIDDEN": "f", "QUEUE": QUEUE.ref, "SIZE": "7"}
    assert spec.function_name == "demo-Fn"


def test_function_events_are_read() -> None:
    template = Template(
        document=parse_template(
            textwrap.dedent(
                """
                Resources:
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: pkg.mod.handler
                      Events:
                        Q:
                          Type: SQS
                          Properties:
                            Queue: !GetAtt Queue.Arn
                            BatchSize: 4
                            MaximumBatchingWindowInSeconds: 2
                            FunctionResponseTypes: [ReportBatchItemFailures]
                        Tick:
                          Type: Schedule
                          Properties: {Schedule: rate(2 hours), Input: '{"k": 1}'}
                        Any:
                          Type: HttpApi
                          Properties: {Method: any, Path: "/x/{id}"}
                        Changes:
                          Type: DynamoDB
                          Properties:
                            Stream: !GetAtt Table.StreamArn
                            StartingPosition: TRIM_HORIZON
                            BatchSize: 5
                            FunctionResponseTypes: [ReportBatchItemFailures]
                            FilterCriteria:
                              Filters:
                                - Pattern: '{"eventName": ["REMOVE"]}'
                """
            )
        )
    )

    assert spec_of(template, "Fn").events == (
        SqsEvent(
            name="Q",
            queue_logical_id="Queue",
            batch_size=4,
            report_batch_item_failures=True,
            batching_window_s=2,
        ),
        ScheduleEvent(name="Tick", rate_seconds=7200, input={"k": 1}),
        HttpApiEvent(name="Any", method="ANY", path="/x/{id}", api_logical_id="ServerlessHttpApi"),
        DynamoDbEvent(
            name="Changes",
            table_logical_id="Table",
            starting_position="TRIM_HORIZON",
            batch_size=5,
            report_batch_item_failures=True,
            filters=({"eventName": ["REMOVE"]},),
        ),
    )


def test_an_event_the_local_stack_cannot_run_is_an_error() -> None:
    template = Template(
        document={
            "Resources": {
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {"Handler": "m.h", "Events": {"S": {"Type": "S3", "Properties": {}}}},
                }
            }
        }
    )

    with pytest.raises(TemplateError, match="not supported"):
        template.functions(resolver())


@pytest.mark.parametrize(
    ("expression", "seconds"), [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 day)", 86400)]
)
def test_rates(expression: str, seconds: int) -> None:
    assert parse_rate(expression) == seconds


def test_cron_schedules_are_rejected() -> None:
    with pytest.raises(TemplateError, match="rate"):
        parse_rate("cron(0 12 * * ? *)")


def test_parameters_default_and_validate() -> None:
    template = load_template()

    assert template.parameter_values() == {
        name: str(spec["Default"]) for name, spec in template.parameters.items()
    }
    assert template.parameter_values({"LogLevel": "DEBUG"})["LogLevel"] == "DEBUG"
    with pytest.raises(TemplateError):
        template.parameter_values({"LogLevel": "LOUD"})
    with pytest.raises(TemplateError):
        template.parameter_values({"NoSuchParameter": "1"})


def test_project_functions_use_the_agreed_handlers_and_events() -> None:
    template = load_template()
    r = Resolver(
        CONTEXT,
        parameters=template.parameter_values(),
        resources={
            name: Physical(ref=f"phys-{name}", attributes={"Arn": f"arn-{name}"})
            for name in template.resources
        },
        conditions=template.conditions,
    )

    specs = {spec.logical_id: spec for spec in template.functions(r)}

    assert {name: spec.handler for name, spec in specs.items()} == {
        "ApiFunction": "batonflow.handlers.api.handler",
        "DeciderFunction": "batonflow.handlers.decider.handler",
        "CompleteFunction": "batonflow.handlers.complete.handler",
        "TimerFunction": "batonflow.handlers.timer.handler",
        "SweeperFunction": "batonflow.handlers.sweeper.handler",
        "SystemTaskFunction": "batonflow.handlers.system_tasks.handler",
        "ReaperFunction": "batonflow.handlers.reaper.handler",
    }
    assert [e.route_key for e in specs["ApiFunction"].events_of(HttpApiEvent)] == [
        "ANY /api/{proxy+}",
        "GET /health",
        "GET /",
        "GET /console/{proxy+}",
    ]
    assert {name: [e.queue_logical_id for e in spec.events_of(SqsEvent)] for name, spec in specs.items()} == {
        "ApiFunction": [],
        "DeciderFunction": ["DeciderQueue"],
        "CompleteFunction": ["ResultsQueue"],
        "TimerFunction": ["TimerQueue"],
        "SweeperFunction": [],
        "SystemTaskFunction": ["HttpTaskQueue", "EventTaskQueue"],
        "ReaperFunction": [],
    }
    [expired] = specs["ReaperFunction"].events_of(DynamoDbEvent)
    assert (expired.table_logical_id, expired.starting_position) == ("BatonTable", "LATEST")
    assert expired.report_batch_item_failures and expired.filters
    assert all(e.report_batch_item_failures for s in specs.values() for e in s.events_of(SqsEvent))
    assert specs["SweeperFunction"].events_of(ScheduleEvent)[0].rate_seconds == 60
    assert [e.batch_size for e in specs["SystemTaskFunction"].events_of(SqsEvent)] == [1, 10]
    api_env = specs["ApiFunction"].environment
    assert api_env["BATON_TABLE"] == "phys-BatonTable"
    assert api_env["BATON_QUEUE_PREFIX"] == "demo-"
    assert api_env["BATON_PAYLOAD_THRESHOLD"] == "65536"
    # the auth mode is the API function's alone (KEY unless overridden); every other variable is shared
    assert api_env["BATON_AUTH_MODE"] == "KEY"
    shared = {k: v for k, v in api_env.items() if k != "BATON_AUTH_MODE"}
    assert all(spec.environment == shared for name, spec in specs.items() if name != "ApiFunction")


def test_system_task_queues_are_the_task_queues_the_engine_dispatches_to() -> None:
    """The decider sends HTTP and EVENT tasks to ``task_queue_name(prefix, type)``; the template must declare
    exactly those queues, with the engine's attributes, or SystemTaskFunction would consume nothing."""
    template = load_template()
    r = Resolver(CONTEXT, parameters=template.parameter_values(), resources={})
    names = ("HttpTaskQueue", "EventTaskQueue")
    queues = {name: r.resolve(template.resources[name]["Properties"]) for name in names}

    assert {name: props["QueueName"] for name, props in queues.items()} == {
        "HttpTaskQueue": task_queue_name("demo-", "HTTP"),
        "EventTaskQueue": task_queue_name("demo-", "EVENT"),
    }
    for props in queues.values():
        attributes = {key: str(value).lower() for key, value in props.items() if key != "QueueName"}
        assert {key: attributes[key] for key in TASK_QUEUE_ATTRIBUTES} == TASK_QUEUE_ATTRIBUTES
        assert "VisibilityTimeout" not in props  # SQS's 30 s default, as on queues the engine creates
    assert template.function_properties("SystemTaskFunction")["Timeout"] <= 30


def test_memory_is_set_per_stack_and_for_the_decider_apart() -> None:
    template = load_template()
    r = Resolver(
        CONTEXT,
        parameters=template.parameter_values({"FunctionMemorySize": "256", "DeciderMemorySize": "1024"}),
        resources={
            name: Physical(ref=f"phys-{name}", attributes={"Arn": f"arn-{name}"})
            for name in template.resources
        },
        conditions=template.conditions,
    )

    memory = {spec.logical_id: spec.memory_mb for spec in template.functions(r)}

    assert memory.pop("DeciderFunction") == 1024
    assert set(memory.values()) == {256}
