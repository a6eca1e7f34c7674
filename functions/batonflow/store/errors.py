"""Store errors: what the callers act on, translated from botocore at the adapter edge."""

from __future__ import annotations

from botocore.exceptions import ClientError


class StoreError(Exception):
    """Base of the store's errors."""


class ConflictError(StoreError):
    """A conditional write lost: the item changed since it was read (or already exists)."""


class NotFoundError(StoreError):
    """The item does not exist."""


THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",  # DynamoDB: a table's or partition's throughput
        "RequestLimitExceeded",  # DynamoDB: the account's throughput quota
        "ThrottlingException",  # DynamoDB's control plane, most JSON services
        "RequestThrottled",  # SQS
        "Throttling",
        "TooManyRequestsException",
        "SlowDown",  # S3
    }
)
"""AWS error codes meaning "too many requests, try again": botocore's standard retry mode retries them with
backoff; one that still comes through means the retries (or the client's retry quota) ran out."""


def is_throttling(error: ClientError) -> bool:
    """Whether AWS refused the call as one of too many: it did nothing, and retrying later is the answer."""
    return str(error.response.get("Error", {}).get("Code", "")) in THROTTLING_CODES
