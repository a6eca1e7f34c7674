"""Least privilege in template.yaml: who may do what, on which resources. This table is the documentation.

Every function's Policies are explicit statements (no SAM policy templates, whose grants nobody listed:
``DynamoDBCrudPolicy`` alone allows Scan, DescribeTable and more on the table and every index). No
statement of the template uses a ``*`` action, an action wildcard such as ``sqs:*``, or a resource that
is a wildcard of a whole service or account. The grants below are what the handlers call (measured by
test_iam_coverage.py, which checks every AWS call of representative flows against these statements):

- task queues (``<stack>-task-<type>``) are created at run time, so they are named by prefix;
- EVENT sinks are the stack's ``<stack>-events-*`` queues unless the EventSinkQueuePrefix parameter says
  otherwise;
- nothing calls S3 (payloads are not offloaded yet), so no function is granted the bucket.

SAM adds AWS managed policies of its own to each function role, which this test cannot see: logs
(AWSLambdaBasicExecutionRole), the SQS event sources (AWSLambdaSQSQueueExecutionRole), the reaper's table
stream (AWSLambdaDynamoDBExecutionRole) and, with Tracing=Active, X-Ray (AWSXrayWriteOnlyAccess).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from batonflow.infra import Resolver, StackContext, load_template
from batonflow.infra.template import SERVERLESS_FUNCTION, Template, parse_template
from tests.support.iam import PolicyError, all_statements, function_statements, grants, listed

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


GRANTS: dict[str, dict[str, frozenset[str]]] = {
    # The REST API: every workflow and metadata operation; lookups through four indexes; polling a task
    # queue (receive, then delete what it leased); starting, retrying and rerunning dispatches tasks.
    "ApiFunction": _merge(
        _grant(ITEM_ACTIONS, TABLE),
        _grant(
            ("dynamodb:Query",),
            _index("tasks-by-id"),
            _index("workflows-by-name"),
            _index("workflows-by-correlation"),
            _index("workflows-by-status"),
        ),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(("sqs:ReceiveMessage", "sqs:DeleteMessage"), TASK_QUEUES),
        _grant(DISPATCH, TASK_QUEUES),
    ),
    # Decides and commits: reads and writes the workflow's partition; wakes itself (sub-workflows, parents),
    # sets timers, dispatches tasks.
    "DeciderFunction": _merge(
        _grant(ITEM_ACTIONS, TABLE),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(DISPATCH, TASK_QUEUES),
    ),
    # Applies results: the attempt (read for IN_PROGRESS/lease extensions, updated), its logs; requeues an
    # IN_PROGRESS attempt with callbackAfterSeconds (a concurrency slot wait is a PutItem).
    "CompleteFunction": _merge(
        _grant(
            ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"), TABLE
        ),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(DISPATCH, TASK_QUEUES),
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
    ),
    # Runs HTTP and EVENT tasks: reads and updates the attempt (and the workflow header, for EVENT),
    # publishes EVENT payloads to their sink queue.
    "SystemTaskFunction": _merge(
        _grant(("dynamodb:GetItem", "dynamodb:UpdateItem"), TABLE),
        _grant(("sqs:SendMessage",), "DeciderQueue", "TimerQueue"),
        _grant(("sqs:GetQueueUrl", "sqs:SendMessage"), *EVENT_SINKS),
    ),
    # The safety net: overdue deadlines from the wake index, then a decider wake-up per workflow.
    "SweeperFunction": _merge(
        _grant(("dynamodb:Query",), _index("wake-index")),
        _grant(("sqs:SendMessage",), "DeciderQueue"),
    ),
    # Retention: reads an expired workflow's partition (and its tasks' logs), deletes it in batches.
    "ReaperFunction": _grant(("dynamodb:Query", "dynamodb:BatchWriteItem"), TABLE),
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
)
"""WorkerPolicy, a stack output for operators to attach to the roles of SQS-native workers."""

_SQS_ARN = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"


def symbolic(value: Any) -> list[str]:
    """A Resource entry as the names of this table: ``DeciderQueue``, ``BatonTable/index/wake-index``,
    ``queue:<stack>-task-*``; both branches of an ``!If``."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::GetAtt" and list(argument)[1:] == ["Arn"]:
            return [argument[0]]
        if key == "Fn::Sub" and isinstance(argument, str):
            name = argument.replace(_SQS_ARN, "queue:").replace("${BatonTable.Arn}", TABLE)
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
def test_each_function_is_granted_exactly_what_its_code_calls(template: Template, function: str) -> None:
    assert grants(function_statements(template, function), symbolic) == GRANTS[function]


def test_the_worker_policy_is_an_output(template: Template) -> None:
    worker = template.resources["WorkerPolicy"]
    statements = worker["Properties"]["PolicyDocument"]["Statement"]

    assert worker["Type"] == "AWS::IAM::ManagedPolicy"
    assert grants(statements, symbolic) == WORKER_GRANTS
    assert template.document["Outputs"]["WorkerPolicyArn"]["Value"] == {"Ref": "WorkerPolicy"}


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


def wildcard_problems(owner: str, statement: Mapping[str, Any]) -> list[str]:
    """Why a statement is broader than least privilege allows (empty when it is fine)."""
    problems = [f"{owner}: {key} is not allowed" for key in ("NotAction", "NotResource") if key in statement]
    problems += [f"{owner}: wildcard action {a!r}" for a in listed(statement.get("Action", [])) if "*" in a]
    for value in listed(statement.get("Resource", [])):
        for literal in _literals(value):
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
    ],
)
def test_the_wildcard_check_catches_broad_statements(statement: dict[str, Any], problem: str) -> None:
    assert any(problem in found for found in wildcard_problems("F", statement))


def test_sam_policy_templates_and_managed_policies_by_name_are_refused() -> None:
    document = parse_template(
        """
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref T
  G:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - AmazonSQSFullAccess
"""
    )
    for function in ("F", "G"):
        with pytest.raises(PolicyError):
            function_statements(Template(document=document), function)


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
