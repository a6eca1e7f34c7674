"""What a run's AWS usage costs: us-east-1 list prices and the arithmetic, one component per service.

Prices are on-demand list prices in us-east-1 (checked 2026-11; free tiers ignored, because they do not
scale with the workload). Sources: aws.amazon.com/{dynamodb,sqs,lambda,api-gateway,s3}/pricing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from batonflow.bench.calls import UNBILLED_ROLES, Tally

PRICES_USD = {
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit (1 KB; transactional: 2 units)
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit (4 KB strong, 8 KB eventual)
    "sqs_standard_request": 0.40 / 1e6,  # per 64 KB chunk of a request
    "sqs_fifo_request": 0.50 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86_64, first 6 billion GB-s a month
    "api_gateway_http_request": 1.00 / 1e6,  # HTTP API, per 512 KB
    "s3_put_request": 0.005 / 1e3,  # PUT, COPY, POST, LIST
    "s3_get_request": 0.0004 / 1e3,
}


@dataclass(frozen=True)
class Invocation:
    """One Lambda invocation the emulator performed: which function, how long, with how much memory."""

    function: str
    duration_ms: float
    memory_mb: int
    source: str
    """``http`` for API Gateway requests, ``sqs``, ``dynamodb``, ``schedule`` or ``direct``."""


@dataclass(frozen=True)
class Cost:
    """USD by component for one stretch of a run."""

    components: Mapping[str, float]

    @property
    def total(self) -> float:
        return sum(self.components.values())

    def per_million(self, units: int) -> dict[str, float]:
        """Each component per million ``units`` (tasks, branches)."""
        return {name: usd / units * 1e6 for name, usd in self.components.items()} if units else {}


def gb_seconds(invocations: Iterable[Invocation]) -> float:
    """Lambda's billed compute: each duration rounded up to the millisecond, times the memory."""
    return sum(math.ceil(call.duration_ms) / 1000 * call.memory_mb / 1024 for call in invocations)


def cost_of(tally: Tally, invocations: Iterable[Invocation], *, compute_gb_s: float | None = None) -> Cost:
    """What the calls in ``tally`` and the ``invocations`` cost; ``compute_gb_s`` replaces the GB-seconds
    of the invocations' own durations."""
    invocations = list(invocations)
    billed = [role for role in tally.write_units if role not in UNBILLED_ROLES]
    read_units = sum(units for role, units in tally.read_units.items() if role not in UNBILLED_ROLES)
    write_units = sum(tally.write_units[role] for role in billed)
    sqs = sum(
        n * PRICES_USD["sqs_fifo_request" if fifo else "sqs_standard_request"]
        for (role, fifo), n in tally.sqs_requests.items()
        if role not in UNBILLED_ROLES
    )
    s3 = sum(
        n * PRICES_USD[f"s3_{price}_request"]
        for (role, price), n in tally.s3_requests.items()
        if role not in UNBILLED_ROLES
    )
    compute = gb_seconds(invocations) if compute_gb_s is None else compute_gb_s
    return Cost(
        {
            "dynamodb_writes": write_units * PRICES_USD["dynamodb_write_unit"],
            "dynamodb_reads": read_units * PRICES_USD["dynamodb_read_unit"],
            "sqs": sqs,
            "lambda_requests": len(invocations) * PRICES_USD["lambda_request"],
            "lambda_duration": compute * PRICES_USD["lambda_gb_second"],
            "api_gateway": sum(call.source == "http" for call in invocations)
            * PRICES_USD["api_gateway_http_request"],
            "s3": s3,
        }
    )
