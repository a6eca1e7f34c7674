"""Create one CloudFormation resource through the service API, the way CloudFormation would.

Each provisioner translates a resource's *resolved* ``Properties`` into API calls, so adding a GSI, a
queue or a bucket setting to ``template.yaml`` needs no change here. Properties that matter only on AWS
(point-in-time recovery, contributor insights, lifecycle rules, ...) are skipped: they change cost and
durability, not behaviour the local stack could show.

Every provisioner is idempotent: an existing table is reused and gets the GSIs and the stream the template
gained since it was created, an existing bucket is reused as is; an existing queue gets its attributes set
again, so a changed visibility timeout in the template reaches a long-lived local endpoint.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.exceptions import ClientError

from batonflow.infra.errors import ProvisionError
from batonflow.infra.intrinsics import Physical, StackContext
from batonflow.infra.template import env_string

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
"""Credentials for a local endpoint: moto and LocalStack accept anything, boto3 only needs something."""

_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "LocalSecondaryIndexes",
    "TableClass",
    "DeletionProtectionEnabled",
    "Tags",
)
_INDEX_PROPERTIES = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")
_QUEUE_NON_ATTRIBUTES = ("QueueName", "Tags")
_JSON_QUEUE_ATTRIBUTES = ("RedrivePolicy", "RedriveAllowPolicy")
_FIFO_SUFFIX = ".fifo"
_QUEUE_NAME_LIMIT = 80
_BUCKET_NAME_LIMIT = 63


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients provisioning needs; build them with :meth:`for_endpoint` or pass your own."""

    dynamodb: Any
    sqs: Any
    s3: Any
    sts: Any = None

    @classmethod
    def from_session(cls, session: Any, *, region: str, endpoint_url: str | None = None) -> AwsClients:
        def client(service: str) -> Any:
            return session.client(service, region_name=region, endpoint_url=endpoint_url)

        return cls(dynamodb=client("dynamodb"), sqs=client("sqs"), s3=client("s3"), sts=client("sts"))

    @classmethod
    def for_endpoint(cls, endpoint_url: str | None, *, region: str) -> AwsClients:
        """Clients for ``endpoint_url`` with dummy credentials; ``None`` means AWS with the default chain."""
        if endpoint_url is None:
            return cls.from_session(boto3.session.Session(), region=region)
        return cls.from_session(local_session(region), region=region, endpoint_url=endpoint_url)


def local_session(region: str) -> boto3.session.Session:
    """A session with dummy credentials that ignores ``AWS_PROFILE``.

    A profile in the environment (even one that does not exist on this machine) would otherwise make
    botocore look it up and fail, though a local endpoint needs no real credentials at all. Sessions
    share one service-model loader: loading the JSON models is most of a client's creation time
    (measured: 4 clients in 150 ms with a fresh loader, 50 ms with a warm one), and the local stack
    creates clients at every start.
    """
    ignore_profile = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    ignore_profile.register_component("data_loader", _shared_loader())
    return boto3.session.Session(**LOCAL_CREDENTIALS, region_name=region, botocore_session=ignore_profile)


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


Provisioner = Callable[[AwsClients, str, Mapping[str, Any], StackContext], Physical]


def provision_table(
    clients: AwsClients, logical_id: str, props: Mapping[str, Any], ctx: StackContext
) -> Physical:
    """``AWS::DynamoDB::Table``: CreateTable (reused when it exists, with missing GSIs and stream added),
    then UpdateTimeToLive."""
    dynamodb = clients.dynamodb
    name = props.get("TableName") or f"{ctx.stack_name}-{logical_id}"
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        table = dynamodb.create_table(**_create_table_request(name, props))["TableDescription"]
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
    else:
        _add_missing_indexes(dynamodb, name, table, props)
        table = _add_missing_stream(dynamodb, name, table, props)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Physical(ref=name, attributes=attributes)


def _add_missing_indexes(
    dynamodb: Any, name: str, table: Mapping[str, Any], props: Mapping[str, Any]
) -> None:
    """Create the GSIs the template declares and the table lacks, as a deploy of the changed template would:
    one per UpdateTable call (DynamoDB's rule), each waited for until ACTIVE."""
    existing = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    definitions = {d["AttributeName"]: d for d in props.get("AttributeDefinitions", [])}
    for index in props.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in existing:
            continue
        keys = [definitions[key["AttributeName"]] for key in index["KeySchema"]]
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=keys,
            GlobalSecondaryIndexUpdates=[{"Create": {k: index[k] for k in _INDEX_PROPERTIES if k in index}}],
        )
        _wait_for_index(dynamodb, name, index["IndexName"])


def _add_missing_stream(
    dynamodb: Any, name: str, table: Mapping[str, Any], props: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Enable the stream the template declares on a table that has none; returns the table's description.

    A stream of another view type is left as it is: changing it means disabling the stream (its records
    are lost) and enabling a new one, a decision for whoever runs the endpoint, not for provisioning.
    """
    stream = props.get("StreamSpecification")
    if not stream or (table.get("StreamSpecification") or {}).get("StreamEnabled"):
        return table
    dynamodb.update_table(TableName=name, StreamSpecification=_stream_specification(stream))
    return dynamodb.describe_table(TableName=name)["Table"]


def _stream_specification(stream: Mapping[str, Any]) -> dict[str, Any]:
    return {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}


def _wait_for_index(dynamodb: Any, name: str, index_name: str, *, attempts: int = 300) -> None:
    for _ in range(attempts):
        indexes = dynamodb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
        if any(i["IndexName"] == index_name and i.get("IndexStatus") == "ACTIVE" for i in indexes):
            return
        time.sleep(1)
    raise ProvisionError(f"index {index_name} of table {name} did not become ACTIVE")


def provision_queue(
    clients: AwsClients, logical_id: str, props: Mapping[str, Any], ctx: StackContext
) -> Physical:
    """``AWS::SQS::Queue``: every property but the name and tags is a queue attribute of the same name."""
    sqs = clients.sqs
    fifo = bool(props.get("FifoQueue"))
    name = props.get("QueueName") or _generated_queue_name(ctx.stack_name, logical_id, fifo)
    attributes = {
        key: json.dumps(value) if key in _JSON_QUEUE_ATTRIBUTES else env_string(value)
        for key, value in props.items()
        if key not in _QUEUE_NON_ATTRIBUTES
    }
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        tags = {tag["Key"]: tag["Value"] for tag in props.get("Tags", [])}
        url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"]
    else:
        mutable = {key: value for key, value in attributes.items() if key != "FifoQueue"}
        if mutable:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=mutable)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Physical(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


def provision_bucket(
    clients: AwsClients, logical_id: str, props: Mapping[str, Any], ctx: StackContext
) -> Physical:
    """``AWS::S3::Bucket``: CreateBucket (reused if it exists), then encryption, public access, versioning."""
    s3 = clients.s3
    name = props.get("BucketName") or _generated_bucket_name(ctx.stack_name, logical_id)
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        location = {} if ctx.region == "us-east-1" else {"LocationConstraint": ctx.region}
        s3.create_bucket(Bucket=name, **({"CreateBucketConfiguration": location} if location else {}))
    encryption = props.get("BucketEncryption")
    if encryption:
        rules = [_encryption_rule(rule) for rule in encryption["ServerSideEncryptionConfiguration"]]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if props.get("Tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": props["Tags"]})
    return Physical(
        ref=name,
        attributes={
            "Arn": f"arn:{ctx.partition}:s3:::{name}",
            "DomainName": f"{name}.s3.{ctx.url_suffix}",
            "RegionalDomainName": f"{name}.s3.{ctx.region}.{ctx.url_suffix}",
        },
    )


PROVISIONERS: Mapping[str, Provisioner] = {
    "AWS::DynamoDB::Table": provision_table,
    "AWS::SQS::Queue": provision_queue,
    "AWS::S3::Bucket": provision_bucket,
}
"""Resource types the local stack creates at the endpoint; other types are emulated or ignored."""


def _create_table_request(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": name}
    request.update({key: props[key] for key in _TABLE_PROPERTIES if key in props})
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = [
            {key: index[key] for key in _INDEX_PROPERTIES if key in index}
            for index in props["GlobalSecondaryIndexes"]
        ]
    sse = props.get("SSESpecification")
    if sse:
        request["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **{key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse},
        }
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = _stream_specification(stream)
    return request


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation names ``ApplyServerSideEncryptionByDefault`` ``ServerSideEncryptionByDefault``."""
    translated = {key: value for key, value in rule.items() if key != "ServerSideEncryptionByDefault"}
    if "ServerSideEncryptionByDefault" in rule:
        translated["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]
    return translated


def _generated_queue_name(stack: str, logical_id: str, fifo: bool) -> str:
    """CloudFormation's ``<stack>-<LogicalId>-<random>`` without the random part, so reruns find the queue."""
    limit = _QUEUE_NAME_LIMIT - (len(_FIFO_SUFFIX) if fifo else 0)
    base = re.sub(r"[^A-Za-z0-9_-]", "-", f"{stack}-{logical_id}")[:limit]
    return base + (_FIFO_SUFFIX if fifo else "")


def _generated_bucket_name(stack: str, logical_id: str) -> str:
    name = re.sub(r"[^a-z0-9.-]", "-", f"{stack}-{logical_id}".lower()).strip(".-")
    return name[:_BUCKET_NAME_LIMIT].rstrip(".-")
