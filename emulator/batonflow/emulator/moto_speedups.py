"""A faster way for moto to answer DynamoDB item calls, with the same bytes on the wire.

moto 5.2 builds every response by walking the operation's output shape value by value
(``moto.core.serialize``). For DynamoDB's item calls that walk is most of the work: a Query of six
twenty-attribute items spends about 10 of its 12 ms there. Yet the result moto's DynamoDB backend hands
over is already the wire format (``{"Items": [{"PK": {"S": ...}}]}``), apart from binary values, which
moto keeps as raw bytes and the wire carries in base64. :func:`install` answers those calls with
``json.dumps`` of the result, base64 for bytes, and only the output shape's top-level members, as the
generic serializer would; every other call, and every error, still goes through moto's serializer.
``tests/functional/test_moto_speedups.py`` checks that both give the same answer for every item call the
engine makes. Written so it could be offered to moto as a fast path of its JSON serializer.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from moto.core.responses import ActionContext, ActionResult
from moto.dynamodb.responses import DynamoResult

FAST_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactGetItems",
    }
)

_generic_execute_result = DynamoResult.execute_result


def install() -> None:
    """Serve DynamoDB item calls through the fast path, in every moto of this process (idempotent)."""
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign]


def _execute_result(self: ActionResult, context: ActionContext) -> Any:
    operation = context.operation_model
    if operation.name not in FAST_OPERATIONS or not isinstance(self.result, dict):
        return _generic_execute_result(self, context)
    members = operation.output_shape.members if operation.output_shape is not None else {}
    body = {name: value for name, value in self.result.items() if name in members and value is not None}
    version = operation.service_model.metadata.get("jsonVersion", "1.0")
    headers = {"Content-Type": f"application/x-amz-json-{version}"}
    return 200, headers, json.dumps(body, default=_binary, separators=(",", ":"))


def _binary(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not part of a DynamoDB item")
