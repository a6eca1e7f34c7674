"""Least privilege in template.yaml: who may do what, on which resources. This table is the documentation.

Every function runs as a role of its own, declared in the template (``Role: !GetAtt <Function>Role.Arn``, no
``Policies``), so SAM generates no role and attaches no AWS managed policy: those allow logs, queue and
stream reads and X-Ray on ``*``. A role holds explicit statements only (no SAM policy templates, whose
grants nobody listed: ``DynamoDBCrudPolicy`` alone allows Scan, DescribeTable and more on the table and
every index) and the template's own managed policies. No statement uses a ``*`` action, an action wildcard
such as ``sqs:*``, or a resource that is a wildcard of a whole service or account, except for the actions
IAM authorises on ``*`` only (:data:`STAR_ONLY_ACTIONS`). The grants below are what the handlers call
(measured by test_iam_coverage.py, which checks every AWS call of representative flows against these
statements), plus what Lambda does on a function's behalf with its role:

- every function logs to the stack's one log group, FunctionLogs, and writes X-Ray segments only when the
  Tracing parameter is Active (FunctionRuntimePolicy);
- an SQS event source receives, deletes and reads the attributes of exactly the queues it consumes; the
  reaper's stream event source reads the table's stream (and lists streams, which IAM allows on ``*`` only);
- task queues (``<stack>-task-<type>``) are created at run time, so they are named by prefix;
- EVENT sinks are the stack's ``<stack>-events-*`` queues unless the EventSinkQueuePrefix parameter says
  otherwise;
- large payloads are objects under ``payloads/`` in the payload bucket: the functions that read and write
  inputs and outputs get and put them (PayloadObjectsPolicy; the timer only reads), those that remove
  workflows list and delete them (PayloadPurgePolicy, listing limited to the ``payloads/`` prefix), and
  workers get and put them (WorkerPolicy). Nothing is granted the bucket's other keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from batonflow.infra import Resolver, StackContext, load_template
from batonflow.infra.template import SERVERLESS_FUNCTION, Template, parse_template
from tests.support.iam import (
    ROLE,
    PolicyError,
    all_statements,
    function_entries,
    function_role,
    function_statements,
    grants,
    listed,
    role_policies,
)

TABLE = "BatonTable"
TASK_QUEUES = "queue:<stack>-task-*"
EVENT_SINKS = ("queue:<stack>-events-*", "queue:${EventSinkQueuePrefix}*")
ITEM_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
DISPATCH = ("sqs:GetQueueUrl", "sqs:CreateQueue", "sqs:SendMessage")
"""TaskQueuePolicy: send a task to its type's queue, creating the queue on first use."""
LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
SQS_EVENT_SOURCE = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
"""What Lambda's SQS event source does with the function's role (the Lambda developer guide's list)."""
STREAM_EVENT_SOURCE = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
"""What Lambda's DynamoDB stream event source does on the stream, besides ``dynamodb:ListStreams``."""
STAR_ONLY_ACTIONS = frozenset({*XRAY, "dynamodb:ListStreams"})
"""Actions that take no resource ARN (the Service Authorization Reference lists no resource type for
them): IAM authorises them on ``*`` only, so a statement of these actions alone may name ``*``."""
STREAM = "BatonTable/stream"
PAYLOADS = "PayloadBucket/payloads/*"
PAYLOAD_OBJECTS = ("s3:GetObject", "s3:PutObject")
PAYLOAD_PURGE = {"s3:ListBucket": frozenset({"PayloadBucket"}), "s3:DeleteObject": frozenset({PAYLOADS})}
"""PayloadPurgePolicy: list ``payloads/<workflowId>/`` (ListBucket is granted on the bucket, with an
``s3:prefix`` condition) and delete what is there."""


def _index(name: str) -> str:
    return f"{TABLE}/index/{name}"


def _grant(actions: tuple[str, ...], *resources: str) -> dict[str, frozenset[str]]:
    return {action: frozenset(resources) for action in actions}


def _merge(*parts: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    merged: dict[str, frozenset[str]] = {}
    for part in parts:
        for action, resources in part.items():
            merged[action] = merged.get(action, frozenset()) | resources
    return merged


RUNTIME = _merge(_grant(LOGS, "FunctionLogs"), _grant(XRAY, "*"))
"""FunctionRuntimePolicy, every function's: its log streams in FunctionLogs; X-Ray with Tracing=Active."""

GRANTS: dict[str, dict[str, frozenset[str]]] = {
    # The REST API: every workflow and metadata operation; lookups through three indexes (a task id names
    # its workflow, so none maps task ids); polling a task queue (receive, then delete what it leased);
    # starting, retrying and rerunning dispatches tasks.
    "ApiFunction": _merge(
        _grant(ITEM_ACTIONS, TABLE),
        _grant(
            ("dynamodb:Query",),
            _index("workflows-by-name"),
            _index("workflows-by-correlation"),
            _index("workflows-by-status"),
        ),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(("sqs:ReceiveMessage", "sqs:DeleteMessage"), TASK_QUEUES),
        _grant(DISPATCH, TASK_QUEUES),
        _grant(PAYLOAD_OBJECTS, PAYLOADS),
        PAYLOAD_PURGE,
        RUNTIME,
    ),
    # Decides and commits: reads and writes the workflow's partition; wakes itself (sub-workflows, parents),
    # sets timers, dispatches tasks.
    "DeciderFunction": _merge(
        _grant(ITEM_ACTIONS, TABLE),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(DISPATCH, TASK_QUEUES),
        _grant(PAYLOAD_OBJECTS, PAYLOADS),
        _grant(SQS_EVENT_SOURCE, "DeciderQueue"),
        RUNTIME,
    ),
    # Applies results (the attempt, its logs), then decides their workflows as the decider does: reads and
    # writes the workflow's partition, sets timers, dispatches tasks; wakes the decider for what it cannot.
    "CompleteFunction": _merge(
        _grant(ITEM_ACTIONS, TABLE),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(DISPATCH, TASK_QUEUES),
        _grant(PAYLOAD_OBJECTS, PAYLOADS),
        _grant(SQS_EVENT_SOURCE, "ResultsQueue"),
        RUNTIME,
    ),
    # Fires timers: wakes the decider, re-sends what is not due, delivers delayed tasks, and runs the
    # concurrency-limit bookkeeping (slots, waiting attempts, reviews).
    "TimerFunction": _merge(
        _grant(
            (
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
            ),
            TABLE,
        ),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(DISPATCH, TASK_QUEUES),
        _grant(("s3:GetObject",), PAYLOADS),
        _grant(SQS_EVENT_SOURCE, "TimerQueue"),
        RUNTIME,
    ),
    # Runs HTTP and EVENT tasks: reads and updates the attempt (and the workflow header, for EVENT),
    # publishes EVENT payloads to their sink queue.
    "SystemTaskFunction": _merge(
        _grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), TABLE),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(("sqs:GetQueueUrl", "sqs:SendMessage"), *EVENT_SINKS),
        _grant(PAYLOAD_OBJECTS, PAYLOADS),
        _grant(SQS_EVENT_SOURCE, "HttpTaskQueue", "EventTaskQueue"),
        RUNTIME,
    ),
    # The safety net: overdue deadlines from the wake index, then a decider wake-up per workflow.
    "SweeperFunction": _merge(
        _grant(("dynamodb:Query",), _index("wake-index")),
        _grant(("sqs:SendMessage",), "DeciderQueue"),
        RUNTIME,
    ),
    # Retention: reads an expired workflow's partition (and its tasks' logs), deletes it in batches; its
    # event source reads the table's stream.
    "ReaperFunction": _merge(
        _grant(("dynamodb:Query", "dynamodb:BatchWriteItem"), TABLE),
        _grant(STREAM_EVENT_SOURCE, STREAM),
        _grant(("dynamodb:ListStreams",), "*"),
        PAYLOAD_PURGE,
        RUNTIME,
    ),
}

WORKER_GRANTS = _merge(
    _grant(
        (
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
            "sqs:CreateQueue",
        ),
        TASK_QUEUES,
    ),
    _grant(("sqs:GetQueueUrl", "sqs:SendMessage"), "ResultsQueue"),
    _grant(PAYLOAD_OBJECTS, PAYLOADS),
)
"""WorkerPolicy, a stack output for operators to attach to the roles of SQS-native workers."""

_SQS_ARN = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"


def symbolic(value: Any) -> list[str]:
    """A Resource entry as the names of this table: ``DeciderQueue``, ``BatonTable/index/wake-index``,
    ``BatonTable/stream``, ``queue:<stack>-task-*``, ``*``; both branches of an ``!If``."""
    if value == "*":
        return ["*"]
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::GetAtt" and list(argument)[1:] == ["Arn"]:
            return [argument[0]]
        if key == "Fn::GetAtt" and list(argument)[1:] == ["StreamArn"]:
            return [f"{argument[0]}/stream"]
        if key == "Fn::Sub" and isinstance(argument, str):
            name = argument.replace(_SQS_ARN, "queue:").replace("${BatonTable.Arn}", TABLE)
            name = name.replace("${PayloadBucket.Arn}", "PayloadBucket")
            return [name.replace("${AWS::StackName}", "<stack>")]
        if key == "Fn::If":
            return [*symbolic(argument[1]), *symbolic(argument[2])]
    raise AssertionError(f"a resource this test cannot name: {value!r}")


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


def test_the_table_covers_every_function(template: Template) -> None:
    assert set(template.resources_of_type(SERVERLESS_FUNCTION)) == set(GRANTS)


@pytest.mark.parametrize("function", sorted(GRANTS))
def test_each_function_is_granted_exactly_what_it_and_its_event_source_call(
    template: Template, function: str
) -> None:
    assert grants(function_statements(template, function), symbolic) == GRANTS[function]


def test_the_worker_policy_is_an_output(template: Template) -> None:
    worker = template.resources["WorkerPolicy"]
    statements = worker["Properties"]["PolicyDocument"]["Statement"]

    assert worker["Type"] == "AWS::IAM::ManagedPolicy"
    assert grants(statements, symbolic) == WORKER_GRANTS
    assert template.document["Outputs"]["WorkerPolicyArn"]["Value"] == {"Ref": "WorkerPolicy"}


# --- roles -------------------------------------------------------------------------------------------

LAMBDA_TRUST = [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
]


def role_problems(template: Template) -> list[str]:
    """Why the functions' roles are not one explicit role per function, which only Lambda may assume and
    which attaches no managed policy but the template's own."""
    problems: list[str] = []
    owners: dict[str, list[str]] = {}
    for function in template.resources_of_type(SERVERLESS_FUNCTION):
        try:
            role = function_role(template, function)
            role_policies(template, role)
        except PolicyError as exc:
            problems.append(str(exc))
            continue
        owners.setdefault(role, []).append(function)
        trust = template.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        if trust != LAMBDA_TRUST:
            problems.append(f"{role}: trusts {trust!r}, not Lambda alone")
    problems += [f"{role} is shared by {names}" for role, names in owners.items() if len(names) > 1]
    return problems


def test_every_function_runs_as_a_role_of_its_own(template: Template) -> None:
    assert role_problems(template) == []
    assert {function_role(template, f) for f in GRANTS} == set(template.resources_of_type(ROLE))


_ROLE = """
  {name}:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal:
              Service: {principal}
            Action: sts:AssumeRole
"""


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        ("      Policies:\n        - DynamoDBCrudPolicy:\n            TableName: !Ref T\n", "Policies"),
        ("      Policies:\n        - Statement: []\n", "Policies"),
        ("      Handler: a.b\n", "Role must be"),
        ("      Role: arn:aws:iam::123456789012:role/elsewhere\n", "Role must be"),
        ("      Role: !GetAtt Queue.Arn\n", "is not an AWS::IAM::Role"),
        ("      Role: !GetAtt CronRole.Arn\n", "trusts"),
        ("      Role: !GetAtt FRole.Arn\n", "shared by ['F', 'G']"),
        ("      Role: !GetAtt AwsManagedRole.Arn\n", "is not a managed policy of the stack"),
    ],
)
def test_the_role_check_catches_generated_shared_and_foreign_roles(function: str, problem: str) -> None:
    text = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"
    text += _ROLE.format(name="FRole", principal="lambda.amazonaws.com")
    text += _ROLE.format(name="CronRole", principal="events.amazonaws.com")
    text += _ROLE.format(name="AwsManagedRole", principal="lambda.amazonaws.com")
    text += "      ManagedPolicyArns:\n        - arn:aws:iam::aws:policy/AmazonSQSFullAccess\n"
    text += "  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Role: !GetAtt FRole.Arn\n"
    text += "  G:\n    Type: AWS::Serverless::Function\n    Properties:\n" + function

    problems = role_problems(Template(document=parse_template(text)))

    assert len(problems) == 1 and problem in problems[0], problems


# --- wildcards -----------------------------------------------------------------------------------------


def _literals(value: Any) -> list[str]:
    """The strings a Resource entry may become, as far as wildcards go (``!Ref``/``!GetAtt`` name one
    resource of the stack)."""
    if isinstance(value, str):
        return [value]
    ((key, argument),) = value.items()
    if key == "Fn::Sub":
        return [argument if isinstance(argument, str) else argument[0]]
    if key == "Fn::If":
        return [*_literals(argument[1]), *_literals(argument[2])]
    if key in ("Ref", "Fn::GetAtt"):
        return []
    raise AssertionError(f"unexpected resource {value!r}")


_S3_KEY_PREFIX = re.compile(r"\$\{\w+\.Arn\}/[A-Za-z0-9_-]+/\*")
"""``${Bucket.Arn}/<prefix>/*``: object actions on the keys under a fixed prefix (``payloads/``)."""


def wildcard_problems(owner: str, statement: Mapping[str, Any]) -> list[str]:
    """Why a statement is broader than least privilege allows (empty when it is fine)."""
    problems = [f"{owner}: {key} is not allowed" for key in ("NotAction", "NotResource") if key in statement]
    actions = listed(statement.get("Action", []))
    problems += [f"{owner}: wildcard action {a!r}" for a in actions if "*" in a]
    if statement.get("Resource") == "*" and set(actions) <= STAR_ONLY_ACTIONS:
        return problems
    objects_only = all(action.startswith("s3:") and action.endswith("Object") for action in actions)
    for value in listed(statement.get("Resource", [])):
        for literal in _literals(value):
            if objects_only and _S3_KEY_PREFIX.fullmatch(literal):
                continue  # the objects under one named key prefix of one bucket
            # a wildcard after the last ':' or '/' alone is every queue, table, index... of the account
            last = literal.replace("/", ":").rsplit(":", 1)[-1]
            if last == "*":
                problems.append(f"{owner}: wildcard resource {literal!r}")
    return problems


def test_no_statement_of_the_template_uses_a_wildcard(template: Template) -> None:
    problems = [
        p for owner, statement in all_statements(template) for p in wildcard_problems(owner, statement)
    ]

    assert problems == []


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": {"Fn::GetAtt": ["Q", "Arn"]}}, "wildcard action '*'"),
        (
            {"Effect": "Allow", "Action": ["sqs:*"], "Resource": {"Fn::GetAtt": ["Q", "Arn"]}},
            "wildcard action",
        ),
        ({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}, "wildcard resource '*'"),
        (
            {"Effect": "Allow", "Action": [*XRAY, "logs:PutLogEvents"], "Resource": "*"},
            "wildcard resource '*'",
        ),
        ({"Effect": "Allow", "Action": "xray:*", "Resource": "*"}, "wildcard action"),
        (
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::Sub": _SQS_ARN + "*"}},
            "wildcard resource",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": {"Fn::Sub": "${BatonTable.Arn}/index/*"},
            },
            "wildcard resource",
        ),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "NotAction is not allowed"),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${PayloadBucket.Arn}/*"}},
            "wildcard resource",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": {"Fn::Sub": "${PayloadBucket.Arn}/p/*"},
            },
            "wildcard resource",
        ),
    ],
)
def test_the_wildcard_check_catches_broad_statements(statement: dict[str, Any], problem: str) -> None:
    assert any(problem in found for found in wildcard_problems("F", statement))


@pytest.mark.parametrize("actions", [list(XRAY), ["dynamodb:ListStreams"]])
def test_actions_iam_authorises_on_star_only_may_name_star(actions: list[str]) -> None:
    assert wildcard_problems("F", {"Effect": "Allow", "Action": actions, "Resource": "*"}) == []


@pytest.mark.parametrize("function", sorted(GRANTS))
def test_x_ray_is_granted_only_with_tracing_active(template: Template, function: str) -> None:
    conditions = {
        condition
        for condition, statement in function_entries(template, function)
        if any(action.startswith("xray:") for action in listed(statement["Action"]))
    }

    assert conditions == {"TracingEnabled"}
    assert template.conditions["TracingEnabled"] == {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]}


# --- logs and event sources --------------------------------------------------------------------------

FUNCTION_LOGS = {"Fn::GetAtt": ["FunctionLogs", "Arn"]}
"""The log group's ARN, which CloudFormation gives with a trailing ``:*``: its log streams."""


def logs_problems(template: Template) -> list[str]:
    """Where the template lets a role use logs other than FunctionLogs, the group every function logs to."""
    problems = [
        f"{function} logs to {props['LoggingConfig']!r}"
        for function in template.resources_of_type(SERVERLESS_FUNCTION)
        if (props := template.function_properties(function)).get("LoggingConfig")
        != {"LogGroup": {"Ref": "FunctionLogs"}}
    ]
    for owner, statement in all_statements(template):
        logs = any(action.startswith("logs:") for action in listed(statement["Action"]))
        if logs and listed(statement["Resource"]) != [FUNCTION_LOGS]:
            problems.append(f"{owner}: logs on {statement['Resource']!r}")
    return problems


def test_functions_log_to_function_logs_only(template: Template) -> None:
    assert logs_problems(template) == []


@pytest.mark.parametrize(
    "resource",
    [
        "'*'",
        '!Sub "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"',
        "[!GetAtt FunctionLogs.Arn, !GetAtt OtherLogs.Arn]",
    ],
)
def test_the_logs_check_catches_other_log_groups(resource: str) -> None:
    text = "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
    text += "        Statement:\n          - Effect: Allow\n            Action: logs:PutLogEvents\n"
    text += f"            Resource: {resource}\n"

    problems = logs_problems(Template(document=parse_template(text)))

    assert len(problems) == 1 and problems[0].startswith("P: logs on "), problems


def test_the_logs_check_catches_a_function_logging_elsewhere() -> None:
    text = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
    text += "      LoggingConfig:\n        LogGroup: !Ref OtherLogs\n"

    assert logs_problems(Template(document=parse_template(text))) == [
        "F logs to {'LogGroup': {'Ref': 'OtherLogs'}}"
    ]


def event_source_problems(template: Template, function: str) -> list[str]:
    """The queues and streams ``function`` is invoked from whose reads its role does not grant."""
    granted = grants(function_statements(template, function), symbolic)
    needs: list[tuple[str, str]] = []
    for name, event in (template.function_properties(function).get("Events") or {}).items():
        props = event.get("Properties") or {}
        if event["Type"] == "SQS":
            (queue,) = symbolic(props["Queue"])
            needs += [(action, queue) for action in SQS_EVENT_SOURCE]
        elif event["Type"] == "DynamoDB":
            (stream,) = symbolic(props["Stream"])
            needs += [(action, stream) for action in STREAM_EVENT_SOURCE]
            needs.append(("dynamodb:ListStreams", "*"))
        elif event["Type"] not in ("HttpApi", "Schedule"):
            raise AssertionError(f"{function}.{name}: what does a {event['Type']} event source need?")
    return [
        f"{function}: {action} on {resource}"
        for action, resource in needs
        if resource not in granted.get(action, frozenset())
    ]


@pytest.mark.parametrize("function", sorted(GRANTS))
def test_event_sources_can_read_what_invokes_the_function(template: Template, function: str) -> None:
    assert event_source_problems(template, function) == []


@pytest.mark.parametrize(
    ("event", "statement", "missing"),
    [
        (
            "Type: SQS\n          Properties:\n            Queue: !GetAtt Q.Arn",
            "Action: [sqs:ReceiveMessage, sqs:DeleteMessage]\n                Resource: !GetAtt Q.Arn",
            ["sqs:GetQueueAttributes on Q"],
        ),
        (
            "Type: SQS\n          Properties:\n            Queue: !GetAtt Q.Arn",
            f"Action: [{', '.join(SQS_EVENT_SOURCE)}]\n                Resource: !GetAtt Other.Arn",
            [f"{action} on Q" for action in SQS_EVENT_SOURCE],
        ),
        (
            "Type: DynamoDB\n          Properties:\n            Stream: !GetAtt T.StreamArn",
            f"Action: [{', '.join(STREAM_EVENT_SOURCE)}]\n                Resource: !GetAtt T.StreamArn",
            ["dynamodb:ListStreams on *"],
        ),
        (
            "Type: DynamoDB\n          Properties:\n            Stream: !GetAtt T.StreamArn",
            f"Action: [{', '.join(STREAM_EVENT_SOURCE)}]\n                Resource: !GetAtt T.Arn",
            [f"{action} on T/stream" for action in STREAM_EVENT_SOURCE] + ["dynamodb:ListStreams on *"],
        ),
    ],
)
def test_the_event_source_check_catches_missing_reads(event: str, statement: str, missing: list[str]) -> None:
    text = "Resources:\n" + _ROLE.format(name="FRole", principal="lambda.amazonaws.com")
    text += "      Policies:\n        - PolicyName: f\n          PolicyDocument:\n            Statement:\n"
    text += f"              - Effect: Allow\n                {statement}\n"
    text += "  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Role: !GetAtt FRole.Arn\n"
    text += f"      Events:\n        Source:\n          {event}\n"

    problems = event_source_problems(Template(document=parse_template(text)), "F")

    assert problems == [f"F: {need}" for need in missing]


@pytest.mark.parametrize(
    ("prefix", "sink_arn"),
    [
        ("", "arn:aws:sqs:us-east-1:123456789012:baton-events-*"),
        ("orders-", "arn:aws:sqs:us-east-1:123456789012:orders-*"),
    ],
)
def test_event_sinks_are_the_stacks_unless_a_prefix_is_given(
    template: Template, prefix: str, sink_arn: str
) -> None:
    (statement,) = [
        s for s in function_statements(template, "SystemTaskFunction") if s["Sid"] == "EventSinks"
    ]
    resolver = Resolver(
        StackContext(stack_name="baton", region="us-east-1"),
        parameters=template.parameter_values({"EventSinkQueuePrefix": prefix}),
        conditions=template.conditions,
    )

    assert resolver.resolve(statement["Resource"]) == sink_arn
