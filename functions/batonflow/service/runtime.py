"""The adapters a function needs, built once per Lambda container from its environment."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from batonflow.clock import Clock, system_clock
from batonflow.config import Settings
from batonflow.queues.sqs import Queues
from batonflow.store.app_keys import AppKeyStore
from batonflow.store.definitions import DefinitionStore
from batonflow.store.exec_slots import ExecSlots
from batonflow.store.executions import ExecutionStore
from batonflow.store.payloads import Payloads
from batonflow.store.start_windows import StartWindows

CLIENT_RETRIES: dict[str, Any] = {"mode": "standard", "max_attempts": 5}
"""botocore's retry settings for every client a function builds."""
INIT_CLIENTS = ("dynamodb", "sqs")
"""The clients a function builds at init, as Lambda's guidance and SnapStart want (S3's only when needed)."""
_CLIENT_CONFIG = Config(retries=CLIENT_RETRIES)
ENVIRONMENT_PREFIX = "CONDUCTOR_ENV_"


@dataclass
class Runtime:
    settings: Settings
    sqs: Any
    executions: ExecutionStore
    definitions: DefinitionStore
    queues: Queues
    start_windows: StartWindows
    exec_slots: ExecSlots
    app_keys: AppKeyStore
    clock: Clock = system_clock
    environment: Mapping[str, str] = field(default_factory=dict)
    """What ``${workflow.env.X}`` may read: only ``CONDUCTOR_ENV_*`` variables of the function."""
    sleep: Callable[[float], None] = time.sleep
    """How a request that waits for a workflow (sync execute) waits; tests move their fake clock instead."""

    @property
    def payloads(self) -> Payloads | None:
        """Where large payloads go (the execution store's)."""
        return self.executions.payloads

    @classmethod
    def from_env(cls, *, clock: Clock = system_clock) -> Runtime:
        settings = Settings.from_env()
        session = boto3.session.Session()
        dynamodb, sqs = (session.client(service, config=_CLIENT_CONFIG) for service in INIT_CLIENTS)
        payloads = Payloads(
            lambda: session.client("s3", config=_CLIENT_CONFIG),
            settings.bucket,
            threshold=settings.payload_threshold,
        )
        return cls(
            settings=settings,
            sqs=sqs,
            executions=ExecutionStore(
                dynamodb, settings.table, retention_s=settings.retention_s, clock=clock, payloads=payloads
            ),
            definitions=DefinitionStore(dynamodb, settings.table),
            start_windows=StartWindows(dynamodb, settings.table),
            exec_slots=ExecSlots(dynamodb, settings.table),
            app_keys=AppKeyStore(dynamodb, settings.table),
            queues=Queues(
                sqs,
                queue_prefix=settings.queue_prefix,
                decider_queue_url=settings.decider_queue_url,
                timer_queue_url=settings.timer_queue_url,
            ),
            clock=clock,
            environment={k: v for k, v in os.environ.items() if k.startswith(ENVIRONMENT_PREFIX)},
        )
