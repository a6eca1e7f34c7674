"""Environment a Baton function reads. template.yaml sets these; the emulator sets them from the template."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from batonflow.model.wire import QUEUE_PREFIX_ENV, RESULTS_QUEUE_ENV
from batonflow.store.payloads import DEFAULT_THRESHOLD, THRESHOLD_ENV

TABLE_ENV = "BATON_TABLE"
DECIDER_QUEUE_ENV = "BATON_DECIDER_QUEUE_URL"
TIMER_QUEUE_ENV = "BATON_TIMER_QUEUE_URL"
BUCKET_ENV = "BATON_BUCKET"
RETENTION_DAYS_ENV = "BATON_RETENTION_DAYS"
AUTH_MODE_ENV = "BATON_AUTH_MODE"
LOG_PAYLOADS_ENV = "BATON_LOG_PAYLOADS"
_SECONDS_PER_DAY = 86400


class AuthMode(StrEnum):
    """Who may call the API (template parameter ``AuthMode``). Only ``KEY`` is checked by the function
    (``batonflow.api.auth``); API Gateway checks ``IAM`` and ``JWT`` before a request reaches it."""

    KEY = "KEY"
    IAM = "IAM"
    JWT = "JWT"
    NONE = "NONE"


@dataclass(frozen=True)
class Settings:
    table: str
    queue_prefix: str
    decider_queue_url: str
    results_queue_url: str
    timer_queue_url: str
    bucket: str = ""
    retention_s: int = 0
    """How long a finished workflow is kept (DynamoDB TTL); 0 keeps it forever."""
    auth_mode: AuthMode = AuthMode.NONE
    log_payloads: bool = False
    """Log task and workflow inputs and outputs (template parameter ``LogPayloads``, for debugging only):
    by default log lines carry ids, types and statuses, never payloads."""
    payload_threshold: int = DEFAULT_THRESHOLD
    """Inputs, outputs and variables whose JSON is larger go to ``bucket`` (``PayloadThresholdBytes``)."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table=env[TABLE_ENV],
            queue_prefix=env[QUEUE_PREFIX_ENV],
            decider_queue_url=env[DECIDER_QUEUE_ENV],
            results_queue_url=env[RESULTS_QUEUE_ENV],
            timer_queue_url=env[TIMER_QUEUE_ENV],
            bucket=env.get(BUCKET_ENV, ""),
            retention_s=retention_seconds(env.get(RETENTION_DAYS_ENV, "0")),
            auth_mode=AuthMode(env.get(AUTH_MODE_ENV, AuthMode.NONE)),
            log_payloads=env.get(LOG_PAYLOADS_ENV, "false").strip().lower() == "true",
            payload_threshold=int(env.get(THRESHOLD_ENV, DEFAULT_THRESHOLD)),
        )


def retention_seconds(days: str) -> int:
    """The template's ``WorkflowRetentionDays`` in seconds. Fractions of a day are allowed (a short-lived
    test stack uses a second's worth); anything at or below zero means keep forever."""
    return max(0, round(float(days) * _SECONDS_PER_DAY))
