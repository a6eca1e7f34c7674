"""Provisioning template.yaml into a moto server: resources as declared, idempotent, any endpoint.

Expected values are read from the template itself, so these tests hold for any table, queue or bucket
the template declares, not for a copy of today's list.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from batonflow.emulator import MotoServer
from batonflow.infra import (
    AwsClients,
    ProvisionedStack,
    Template,
    TemplateError,
    UnresolvableError,
    load_template,
    local_session,
    provision,
)

REGION = "us-east-1"
TABLE = "AWS::DynamoDB::Table"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with MotoServer() as server:
        yield server.endpoint_url


@pytest.fixture(scope="module")
def clients(endpoint: str) -> AwsClients:
    return AwsClients.for_endpoint(endpoint, region=REGION)


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


@pytest.fixture(scope="module")
def stack(endpoint: str, template: Template) -> ProvisionedStack:
    return provision(template, endpoint_url=endpoint, stack_name="prov-test", region=REGION)


def resources_of(template: Template, kind: str) -> dict[str, Any]:
    return {name: res.get("Properties", {}) for name, res in template.resources_of_type(kind).items()}


def test_tables_match_the_template(clients: AwsClients, template: Template, stack: ProvisionedStack) -> None:
    dynamodb = clients.dynamodb
    for name, props in resources_of(template, "AWS::DynamoDB::Table").items():
        table = dynamodb.describe_table(TableName=stack.resources[name].ref)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=stack.resources[name].ref)["TimeToLiveDescription"]

        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            props["AttributeDefinitions"], key=str
        )
        assert table["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
        assert {
            i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in table["GlobalSecondaryIndexes"]
        } == {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in props["GlobalSecondaryIndexes"]}
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert ttl == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": props["TimeToLiveSpecification"]["AttributeName"],
        }
        assert stack.resources[name].attributes["Arn"] == table["TableArn"]
        assert table["StreamSpecification"] == {
            "StreamEnabled": True,
            "StreamViewType": props["StreamSpecification"]["StreamViewType"],
        }
        assert stack.resources[name].attributes["StreamArn"] == table["LatestStreamArn"]


def test_queues_match_the_template(clients: AwsClients, template: Template, stack: ProvisionedStack) -> None:
    sqs = clients.sqs
    queues = resources_of(template, "AWS::SQS::Queue")
    for name, props in queues.items():
        physical = stack.resources[name]
        attributes = sqs.get_queue_attributes(QueueUrl=physical.ref, AttributeNames=["All"])["Attributes"]

        assert physical.attributes["QueueName"] == stack.resolver().resolve(props["QueueName"])
        assert physical.attributes["Arn"] == attributes["QueueArn"]
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in props:
                assert attributes[key] == str(props[key])
        assert attributes.get("FifoQueue", "false") == str(props.get("FifoQueue", False)).lower()
        assert attributes["SqsManagedSseEnabled"] == "true"
        if "RedrivePolicy" in props:
            dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert json.loads(attributes["RedrivePolicy"]) == {
                "deadLetterTargetArn": stack.resources[dlq].attributes["Arn"],
                "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"],
            }


def test_buckets_match_the_template(clients: AwsClients, template: Template, stack: ProvisionedStack) -> None:
    s3 = clients.s3
    for name, props in resources_of(template, "AWS::S3::Bucket").items():
        bucket = stack.resources[name].ref
        encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]

        expected = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        assert encryption[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == expected["SSEAlgorithm"]
        assert block == props["PublicAccessBlockConfiguration"]


def test_function_environments_point_at_the_provisioned_resources(stack: ProvisionedStack) -> None:
    env = stack.function("DeciderFunction").environment

    assert env["BATON_TABLE"] == stack.resources["BatonTable"].ref
    assert env["BATON_DECIDER_QUEUE_URL"] == stack.resources["DeciderQueue"].ref
    assert env["BATON_RESULTS_QUEUE_URL"] == stack.resources["ResultsQueue"].ref
    assert env["BATON_TIMER_QUEUE_URL"] == stack.resources["TimerQueue"].ref
    assert env["BATON_BUCKET"] == stack.resources["PayloadBucket"].ref
    assert env["BATON_QUEUE_PREFIX"] == "prov-test-"
    assert stack.resources["ApiFunction"].attributes["Arn"].endswith(":function:prov-test-ApiFunction")


def test_provisioning_twice_reuses_what_exists(
    clients: AwsClients, template: Template, stack: ProvisionedStack
) -> None:
    sqs = clients.sqs
    results_url = stack.resources["ResultsQueue"].ref
    sqs.send_message(QueueUrl=results_url, MessageBody="survives")

    again = provision(template, session_or_clients=clients, stack_name="prov-test")

    assert again.resources == stack.resources
    assert again.functions == stack.functions
    received = sqs.receive_message(QueueUrl=results_url, WaitTimeSeconds=0).get("Messages", [])
    assert [m["Body"] for m in received] == ["survives"]


def test_a_changed_queue_attribute_reaches_an_existing_queue(clients: AwsClients, template: Template) -> None:
    changed = copy.deepcopy(dict(template.document))
    provision(template, session_or_clients=clients, stack_name="prov-change")
    changed["Resources"]["TimerQueue"]["Properties"]["VisibilityTimeout"] = 77

    stack = provision(Template(document=changed), session_or_clients=clients, stack_name="prov-change")

    url = stack.resources["TimerQueue"].ref
    attributes = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "77"


def test_an_existing_table_gets_the_indexes_the_template_gained(
    clients: AwsClients, template: Template
) -> None:
    older = copy.deepcopy(dict(template.document))
    for resource in older["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            props["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"][:1]
            keys = [*props["KeySchema"], *props["GlobalSecondaryIndexes"][0]["KeySchema"]]
            used = {key["AttributeName"] for key in keys}
            props["AttributeDefinitions"] = [
                d for d in props["AttributeDefinitions"] if d["AttributeName"] in used
            ]
    provision(Template(document=older), session_or_clients=clients, stack_name="prov-gsi")

    stack = provision(template, session_or_clients=clients, stack_name="prov-gsi")

    for name, props in resources_of(template, "AWS::DynamoDB::Table").items():
        table = clients.dynamodb.describe_table(TableName=stack.resources[name].ref)["Table"]
        assert {
            i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in table["GlobalSecondaryIndexes"]
        } == {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in props["GlobalSecondaryIndexes"]}


def test_an_existing_table_gets_the_stream_the_template_gained(
    clients: AwsClients, template: Template
) -> None:
    older = copy.deepcopy(dict(template.document))
    for resource in older["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            del resource["Properties"]["StreamSpecification"]
    before = provision(Template(document=older), session_or_clients=clients, stack_name="prov-stream")
    assert not any("StreamArn" in before.resources[name].attributes for name in resources_of(template, TABLE))

    stack = provision(template, session_or_clients=clients, stack_name="prov-stream")

    for name, props in resources_of(template, TABLE).items():
        table = clients.dynamodb.describe_table(TableName=stack.resources[name].ref)["Table"]
        assert (
            table["StreamSpecification"]["StreamViewType"] == props["StreamSpecification"]["StreamViewType"]
        )
        assert stack.resources[name].attributes["StreamArn"] == table["LatestStreamArn"]
    again = provision(template, session_or_clients=clients, stack_name="prov-stream")  # left as it is
    assert again.resources == stack.resources


def test_a_session_or_prebuilt_clients_work_too(endpoint: str, template: Template) -> None:
    session = local_session(REGION)

    by_session = provision(template, session_or_clients=session, endpoint_url=endpoint, stack_name="prov-s")
    by_clients = provision(
        template,
        session_or_clients=AwsClients.from_session(session, region=REGION, endpoint_url=endpoint),
        stack_name="prov-s",
    )

    assert by_session.resources == by_clients.resources


def test_conditions_skip_resources(clients: AwsClients) -> None:
    template = Template(
        document={
            "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
            "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
            "Resources": {
                "Always": {"Type": "AWS::SQS::Queue", "Properties": {}},
                "ProdOnly": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {}},
            },
        }
    )

    stack = provision(template, session_or_clients=clients, stack_name="prov-cond")

    assert stack.skipped == ("ProdOnly",)
    assert stack.resources["Always"].attributes["QueueName"] == "prov-cond-Always"


def test_circular_references_are_reported(clients: AwsClients) -> None:
    def queue(other: str) -> dict[str, Any]:
        return {
            "Type": "AWS::SQS::Queue",
            "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [other, "Arn"]}}},
        }

    template = Template(document={"Resources": {"A": queue("B"), "B": queue("A")}})

    with pytest.raises(TemplateError, match="circular"):
        provision(template, session_or_clients=clients, stack_name="prov-cycle")


def test_a_reference_to_something_the_endpoint_cannot_create_is_reported(clients: AwsClients) -> None:
    template = Template(
        document={
            "Resources": {
                "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "m.h"}},
                "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Fn"}}},
            }
        }
    )

    with pytest.raises(UnresolvableError, match="Fn"):
        provision(template, session_or_clients=clients, stack_name="prov-bad")


@pytest.mark.parametrize(
    ("parameters", "refusal"),
    [
        ({"AuthMode": "NONE"}, "OpenApiIsAcknowledged"),
        ({"AuthMode": "NONE", "OpenApiAcknowledgement": "yes"}, "OpenApiIsAcknowledged"),
        ({"AuthMode": "JWT", "JwtAudience": "client-1"}, "JwtIssuer"),
        ({"AuthMode": "JWT", "JwtIssuer": "https://idp.example"}, "JwtAudience"),
        ({"DeciderMaxConcurrency": "1"}, "DeciderConcurrencyIsUsable"),
    ],
)
def test_the_templates_rules_refuse_parameters_before_anything_is_created(
    clients: AwsClients, template: Template, parameters: dict[str, str], refusal: str
) -> None:
    stack_name = f"prov-rules-{refusal.lower()}"
    with pytest.raises(TemplateError, match=refusal):
        provision(template, session_or_clients=clients, stack_name=stack_name, parameters=parameters)

    assert not clients.sqs.list_queues(QueueNamePrefix=stack_name).get("QueueUrls")


@pytest.mark.parametrize(
    "parameters",
    [
        {"AuthMode": "KEY"},
        {"AuthMode": "IAM"},
        {"AuthMode": "JWT", "JwtIssuer": "https://idp.example", "JwtAudience": "client-1,client-2"},
        {"AuthMode": "NONE", "OpenApiAcknowledgement": "I understand anyone can run workflows"},
    ],
)
def test_every_auth_mode_deploys_with_its_settings(
    clients: AwsClients, template: Template, parameters
) -> None:
    stack = provision(template, session_or_clients=clients, stack_name="prov-auth", parameters=parameters)

    assert stack.function("ApiFunction").environment["BATON_AUTH_MODE"] == parameters["AuthMode"]
