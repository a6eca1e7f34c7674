"""Where workers find their queues: explicit arguments first, then the environment ``baton up`` prints.

Endpoint and region are left to boto3 when not given, so its own rules apply unchanged
(``AWS_ENDPOINT_URL_SQS`` before ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, profiles); without an
endpoint it talks to real AWS.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from batonflow.config import BUCKET_ENV
from batonflow.model.wire import QUEUE_PREFIX_ENV, RESULTS_QUEUE_ENV, results_queue_name
from batonflow.store.payloads import DEFAULT_THRESHOLD, THRESHOLD_ENV, Payloads


class WorkerConfigError(ValueError):
    """The worker cannot tell which queues to use."""


@dataclass(frozen=True)
class WorkerSettings:
    """``results_queue_url=None`` means: look up ``<queue_prefix>results`` by name on first use.

    ``bucket``: the stack's payload bucket (output ``PayloadBucketName``, ``BATON_BUCKET``), where task
    inputs and outputs over ``payload_threshold`` bytes travel; without it, a task whose input was stored
    there fails, and outputs always travel in the result message.
    """

    queue_prefix: str
    results_queue_url: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    worker_id: str = field(default_factory=socket.gethostname)
    bucket: str | None = None
    payload_threshold: int = DEFAULT_THRESHOLD

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> WorkerSettings:
        """Settings from ``overrides`` (``None`` values ignored), then ``BATON_*`` and AWS variables.

        ``WorkerSettings.from_env(stack.worker_environment())`` points a worker at a ``baton up`` stack.
        """
        env = os.environ if environ is None else environ
        given = {key: value for key, value in overrides.items() if value is not None}
        given.setdefault("queue_prefix", env.get(QUEUE_PREFIX_ENV))
        if given["queue_prefix"] is None:
            raise WorkerConfigError(
                f"no queue prefix: pass queue_prefix= or set {QUEUE_PREFIX_ENV} "
                "(`baton up` prints it, e.g. baton-dev-)"
            )
        for field_name, variable in (
            ("results_queue_url", RESULTS_QUEUE_ENV),
            ("endpoint_url", "AWS_ENDPOINT_URL"),
            ("region", "AWS_DEFAULT_REGION"),
            ("bucket", BUCKET_ENV),
        ):
            if variable in env:
                given.setdefault(field_name, env[variable])
        if THRESHOLD_ENV in env:
            given.setdefault("payload_threshold", int(env[THRESHOLD_ENV]))
        return cls(**given)

    @property
    def results_queue_name(self) -> str:
        return results_queue_name(self.queue_prefix)


def make_payloads(settings: WorkerSettings, *, max_pool_connections: int = 10) -> Payloads | None:
    """Large payloads in the stack's bucket (its S3 client made on first use), or None without a bucket."""
    if not settings.bucket:
        return None
    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=max_pool_connections
    )

    def client() -> Any:
        return boto3.session.Session().client(
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config
        )

    return Payloads(client, settings.bucket, threshold=settings.payload_threshold)


def make_sqs_client(settings: WorkerSettings, *, max_pool_connections: int = 10) -> Any:
    """An SQS client shared by every thread of a runner (boto3 clients are thread-safe; sessions are not).

    botocore's standard retry mode retries throttling and 5xx with jittered backoff; what still fails after
    that reaches the runtime, which backs off on its own (never a busy loop). The read timeout must exceed
    the 20 s long poll.
    """
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max_pool_connections,
        connect_timeout=10,
        read_timeout=40,
    )
    session = boto3.session.Session()
    return session.client(
        "sqs", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config
    )
