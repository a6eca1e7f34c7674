"""DynamoDB attribute values <-> Python, for the few shapes Baton stores.

JSON documents are stored as compact strings (one ``S`` attribute) rather than DynamoDB maps: cheaper to
(de)serialise, no ``Decimal`` leaking out, and byte-for-byte what the API returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def s(value: str) -> AttributeValue:
    return {"S": value}


def n(value: int) -> AttributeValue:
    return {"N": str(int(value))}


def doc(value: Any) -> AttributeValue:
    return {"S": json.dumps(value, separators=(",", ":"), ensure_ascii=False)}


def boolean(value: bool) -> AttributeValue:
    return {"BOOL": value}


def get_s(item: Item, name: str, default: str | None = None) -> str | None:
    value = item.get(name)
    return value["S"] if value and "S" in value else default


def get_n(item: Item, name: str, default: int = 0) -> int:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else default


def get_doc(item: Item, name: str, default: Any = None) -> Any:
    value = item.get(name)
    return json.loads(value["S"]) if value and "S" in value else default


def get_bool(item: Item, name: str) -> bool:
    value = item.get(name)
    return bool(value and value.get("BOOL"))


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """DynamoDB's size of an item (attribute names plus values), which its write units are billed by."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: Mapping[str, Any]) -> int:
    """DynamoDB's size of one attribute value in the low-level format."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in inner.items())
    return 0
