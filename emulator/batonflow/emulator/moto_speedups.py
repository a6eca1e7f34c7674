"""Four patches to moto's DynamoDB: item calls answered faster with the same bytes on the wire, update
expressions parsed once, a Query of a table's key reading only its partition, and every call applied whole
before the next starts, as DynamoDB does.

**Faster answers.**

moto 5.2 builds every response by walking the operation's output shape value by value
(``moto.core.serialize``). For DynamoDB's item calls that walk is most of the work: a Query of six
twenty-attribute items spends about 10 of its 12 ms there. Yet the result moto's DynamoDB backend hands
over is already the wire format (``{"Items": [{"PK": {"S": ...}}]}``), apart from binary values, which
moto keeps as raw bytes and the wire carries in base64. :func:`install` answers those calls with
``json.dumps`` of the result, base64 for bytes, and only the output shape's top-level members, as the
generic serializer would; every other call, and every error, still goes through moto's serializer.
``tests/functional/test_moto_speedups.py`` checks that both give the same answer for every item call the
engine makes. Written so it could be offered to moto as a fast path of its JSON serializer.

**Update expressions parsed once.** moto parses an UpdateItem's expression twice (to check its
placeholders, then to apply it) and deep-copies the tree before validating it, each time: some 1.5 ms of
an UpdateItem, the call the engine makes most (a result, a header commit), while the engine sends the same
few expressions over and over. :func:`install` keeps each expression's parsed tree pickled and hands every
caller a fresh tree unpickled from it (a seventh of a parse), and copies a parsed tree by pickle rather
than ``deepcopy`` (a fifth of the time). Validating a tree walks it once per check, and moto's walker
rebuilt the check's map of node types to handlers at every node; the node types are looked up once per
kind of check instead. Two of the ten checks look only at the expression's shape: at most one clause of
each kind, no path set twice (by name, so they also read the names' placeholders). moto runs them at every
node that is an ``UpdateExpression`` (most nodes are), each over that node's whole subtree: nearly half of
an UpdateItem's time for the engine's ten-attribute result write. They change nothing, and their outcome
depends only on the expression and the names, so an expression that passed them with the same names skips
them. Each caller still gets a tree of its own to change, so answers
and errors are moto's (``tests/functional/test_moto_speedups.py`` compares them, expression by
expression).

**A Query reads its partition.** moto answers every Query, even one naming a single partition of the
table, from ``Table.all_items()``: every item of the table, sorted. A workflow's load is one Query of its
partition, so each decide cost time in proportion to all the workflows stored (a burst of 1,000 starts
spent most of its time sorting the table). :func:`install` hands a Query on the table's own key only the
items of its partition; moto's code does the rest (range conditions, order, filters, pages) as before.
Queries of an index still read the whole table, as moto keeps no index.

**One call at a time.** moto's DynamoDB backend has no locks, and ``baton up``'s moto server answers
requests on many threads. A conditional write checks its condition and then writes, so two threads could
both pass the same condition (two workers completing one attempt would both win), and a Query that walks
a table while another thread adds a partition fails with "dictionary changed size during iteration".
DynamoDB applies each request atomically; :func:`install` makes moto do the same by holding one lock for
each DynamoDB call. The calls ran one at a time under the GIL anyway, so little is lost.
"""

from __future__ import annotations

import base64
import copy
import json
import pickle
import threading
from functools import lru_cache
from typing import Any

from moto.core.responses import ActionContext, ActionResult
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, UpdateExpression
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import UpdateExpressionValidator
from moto.dynamodb.responses import DynamoHandler, DynamoResult

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
_unserialized_call_action = DynamoHandler.call_action
_table_wide_query = Table.query
_parse_update_expression = UpdateExpressionParser.make
_node_types_by_moto = DepthFirstTraverser.nodes_to_be_processed
_validate_by_moto = UpdateExpressionValidator.validate
_ONE_CALL_AT_A_TIME = threading.Lock()


def install() -> None:
    """Serve DynamoDB item calls through the fast path, update expressions parsed once, Queries from their
    partition, one call at a time, in every moto of this process (idempotent)."""
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign]
    UpdateExpressionParser.make = staticmethod(_parsed_once)  # type: ignore[method-assign,assignment]
    validators.deepcopy = _copy  # type: ignore[attr-defined]
    DepthFirstTraverser.nodes_to_be_processed = _node_types  # type: ignore[method-assign]
    UpdateExpressionValidator.validate = _validate  # type: ignore[method-assign]
    Table.query = _partition_query  # type: ignore[method-assign]
    DynamoHandler.call_action = _serialized_call_action  # type: ignore[method-assign]


def _parsed_once(expression: str) -> UpdateExpression:
    """``UpdateExpressionParser.make``: a fresh tree of ``expression``, parsed once per process."""
    return pickle.loads(_pickled_tree(expression))


@lru_cache(maxsize=1024)
def _pickled_tree(expression: str) -> bytes:
    tree = _parse_update_expression(expression)
    tree.baton_expression = expression  # carried by every tree unpickled or copied from this one
    return pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)


def _copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """The validators' ``deepcopy``: a parsed update expression by pickle, anything else as before."""
    if isinstance(value, UpdateExpression):
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return copy.deepcopy(value, memo)


_NODE_TYPES: dict[type, tuple[type, ...]] = {}


def _node_types(self: DepthFirstTraverser) -> tuple[type, ...]:
    """``nodes_to_be_processed``, worked out once per traverser class. moto rebuilds the processing map (a
    dict of bound methods) for every node of every validation pass, yet its keys are class constants."""
    cls = type(self)
    types = _NODE_TYPES.get(cls)
    if types is None:
        types = _NODE_TYPES[cls] = tuple(self._processing_map())
    return types


_SHAPE_CHECKS = (validators.ActionCountValidator, validators.OverlappingPathsValidator)
_SHAPES_PASSED: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
_MAX_SHAPES = 4096


def _validate(self: UpdateExpressionValidator) -> Any:
    """``UpdateExpressionValidator.validate``, skipping the shape checks an expression already passed with
    the same names."""
    expression = getattr(self.node_to_validate, "baton_expression", None)
    if expression is None:
        return _validate_by_moto(self)
    shape = (expression, tuple(sorted((self.expression_attribute_names or {}).items())))
    passed = shape in _SHAPES_PASSED
    node = self.node_to_validate
    for processor in self.processors:
        if not (passed and isinstance(processor, _SHAPE_CHECKS)):
            node = processor.traverse(node)
    if not passed:
        if len(_SHAPES_PASSED) >= _MAX_SHAPES:
            _SHAPES_PASSED.clear()
        _SHAPES_PASSED.add(shape)
    return node


def _partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """``Table.query`` with ``all_items`` answering only the queried partition of the table's own key (of
    tables with a range key, as Baton's are).

    moto passes the index name as the eighth positional argument (``DynamoDBBackend.query``). The
    instance attribute shadows the method for this call only, which the one-call lock makes safe.
    """
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name is not None or hash_key is None or not self.range_key_attr:
        return _table_wide_query(self, hash_key, *args, **kwargs)
    items = list(self.items.get(hash_key, {}).values())  # the partition: range key -> item
    self.all_items = lambda: items  # type: ignore[method-assign]
    try:
        return _table_wide_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


def _serialized_call_action(self: DynamoHandler) -> Any:
    with _ONE_CALL_AT_A_TIME:
        return _unserialized_call_action(self)


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
