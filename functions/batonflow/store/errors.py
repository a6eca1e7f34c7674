"""Store errors: what the callers act on, translated from botocore at the adapter edge."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's errors."""


class ConflictError(StoreError):
    """A conditional write lost: the item changed since it was read (or already exists)."""


class NotFoundError(StoreError):
    """The item does not exist."""
