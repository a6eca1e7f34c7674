"""Conductor's ``${...}`` parameter resolution (REFERENCE §2.2-§2.5, §2.8), as one pure function.

A port of ``ParametersUtils.replaceVariables``, checked against that Java code running on Jayway 2.10:

* **Walk.** Maps (keys never resolved) and lists are rebuilt, strings resolved, anything else kept as is, so
  a literal ``null`` stays ``None`` with its key present (§2.8).
* **Scan.** An expression starts at each ``${`` not preceded by ``$`` and ends at the ``}`` that balances
  it, every ``{``/``}`` counting; its inner text is resolved first, as text, so expressions nest
  (``${workflow.input.${workflow.input.which}}``). Conductor finds these with a regex that, once an
  expression's braces never balance, finds nothing further in the string (later balanced expressions
  included): reproduced, so such a string keeps its text.
* **Look up**, in Conductor's order: a blank path gives ``""``; ``workflow.secrets.*`` keeps its literal text
  (secrets are deferred until hand-off to the worker, §2.1, and not implemented here);
  ``workflow.env.NAME`` reads ``environment["CONDUCTOR_ENV_NAME"]`` and ``workflow.env.NAME.json.path``
  reads a path inside that value parsed as JSON (None if it is not JSON or the path is missing, where
  Java would throw); ``CPEWF_TASK_ID`` is ``task_id``; ``NETFLIX_ENV``, ``NETFLIX_STACK`` and any other key
  of ``environment`` give that value; the special names keep their literal ``${NAME}`` text when they have
  no value. Anything else is a JsonPath read of ``document`` (``batonflow.engine.jsonpath``): missing or
  malformed gives None, wildcards, scans, slices and filters give lists.
* **Splice.** A string that is exactly one expression yields the value itself (number, bool, map, list,
  None). Otherwise each value is spliced in as Java's ``toString`` would print it (``null``, ``true``,
  ``5.0``, ``{a=1, b=x}``, ``[1, 2]``; compact JSON for a list Jayway built) and every ``$${`` of the
  result collapses to ``${``, so ``$${x}`` renders ``${x}``.

Security (§2.5): Conductor answers a bare ``${NAME}`` with any JVM property or server environment variable.
Here only ``environment`` is consulted, never ``os.environ``: every key of the mapping is readable by every
workflow as ``${KEY}``, so callers pass an allow-list, never the Lambda environment.

A whole-value expression returns the document's own object, as Conductor does: treat resolved values as
read-only, or copy them before changing them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from batonflow.engine import jsonpath

__all__ = ["ENV_PREFIX", "ENV_VARIABLE_PREFIX", "SECRETS_PREFIX", "TASK_ID_NAME", "resolve"]

SECRETS_PREFIX: Final = "workflow.secrets."
ENV_PREFIX: Final = "workflow.env."
ENV_VARIABLE_PREFIX: Final = "CONDUCTOR_ENV_"
TASK_ID_NAME: Final = "CPEWF_TASK_ID"
_SYSTEM_NAMES: Final = frozenset({TASK_ID_NAME, "NETFLIX_ENV", "NETFLIX_STACK"})
_NO_ENVIRONMENT: Final[Mapping[str, str]] = MappingProxyType({})

# A looked-up value and how Java's toString prints it when it is spliced into a string.
_Found = tuple[Any, Callable[[Any], str]]
_JAVA: Final = jsonpath.java_text
_JSON: Final = jsonpath.json_smart_text
_CACHED_TEMPLATE_LENGTH: Final = 512  # longer strings are scanned each time rather than pinned in the cache


def resolve(
    value: Any,
    document: Mapping[str, Any],
    *,
    task_id: str | None = None,
    environment: Mapping[str, str] | None = None,
) -> Any:
    """Resolve every ``${...}`` in ``value`` (any JSON value from ``inputParameters``) against ``document``.

    ``document`` is the resolver document of §2.4 (``{"workflow": {...}, "<taskRef>": {...}}``) and is only
    read. ``task_id`` answers ``${CPEWF_TASK_ID}`` (literal text kept when None). ``environment`` answers
    ``${workflow.env.NAME}`` (key ``CONDUCTOR_ENV_NAME``), ``${NETFLIX_ENV}``, ``${NETFLIX_STACK}`` and bare
    ``${KEY}``: pass only what workflows may see. Never raises for a bad path: it resolves to None.
    """
    return _Resolver(document, task_id, environment or _NO_ENVIRONMENT).walk(value)


def _expressions(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(start, end, inner text)`` of each top-level ``${...}`` in ``text``."""
    if len(text) <= _CACHED_TEMPLATE_LENGTH:
        return _cached_expressions(text)
    return tuple((start, end, text[start + 2 : end - 1]) for start, end in _expression_spans(text))


@functools.lru_cache(maxsize=4096)
def _cached_expressions(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((start, end, text[start + 2 : end - 1]) for start, end in _expression_spans(text))


def _expression_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each top-level ``${...}`` in ``text``, as Conductor's regex finds them."""
    spans: list[tuple[int, int]] = []
    start = text.find("${")
    while start >= 0:
        if start and text[start - 1] == "$":  # the $${ escape
            start = text.find("${", start + 1)
            continue
        end = _balancing_brace(text, start + 1)
        if end < 0:
            break
        spans.append((start, end + 1))
        start = text.find("${", end + 1)
    return spans


def _balancing_brace(text: str, opening: int) -> int:
    depth, index = 0, opening
    while True:
        close = text.find("}", index)
        if close < 0:
            return -1
        open_ = text.find("{", index, close)
        if open_ >= 0:
            depth, index = depth + 1, open_ + 1
            continue
        depth -= 1
        if depth == 0:
            return close
        index = close + 1


class _Resolver:
    __slots__ = ("document", "environment", "task_id")

    def __init__(
        self, document: Mapping[str, Any], task_id: str | None, environment: Mapping[str, str]
    ) -> None:
        self.document = document
        self.task_id = task_id
        self.environment = environment

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value, whole_value=True) if "${" in value else value
        if isinstance(value, Mapping):
            return {key: self.walk(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.walk(item) for item in value]
        return value

    def text(self, text: str, *, whole_value: bool) -> Any:
        """Resolve the expressions of one string; ``whole_value`` is False for the inside of an expression."""
        expressions = _expressions(text)
        replacements: list[tuple[int, int, _Found]] = []
        for start, end, path in expressions:
            if "${" in path:
                path = self.text(path, whole_value=False)
            found = self.lookup(path, text[start:end])
            if found is not None:
                replacements.append((start, end, found))
        if whole_value and len(replacements) == 1 and replacements[0][:2] == (0, len(text)):
            return replacements[0][2][0]
        if not replacements:
            return text.replace("$${", "${")
        pieces, position = [], 0
        for start, end, (value, render) in replacements:
            pieces.append(text[position:start])
            pieces.append(render(value))
            position = end
        pieces.append(text[position:])
        return "".join(pieces).replace("$${", "${")

    def lookup(self, path: str, expression: str) -> _Found | None:
        """The value of one expression's path; None means "leave the expression's text as it is"."""
        if not path or path.isspace():
            return "", _JAVA
        if path.startswith(SECRETS_PREFIX):
            return expression, _JAVA
        if path.startswith(ENV_PREFIX):
            return self.environment_value(path[len(ENV_PREFIX) :])
        if path in _SYSTEM_NAMES or path in self.environment:
            value = self.task_id if path == TASK_ID_NAME else self.environment.get(path)
            return None if value is None else (value, _JAVA)
        compiled = jsonpath.lookup(path)
        if compiled is None:
            return None, _JAVA
        return compiled.read(self.document), _JAVA if compiled.definite else _JSON

    def environment_value(self, reference: str) -> _Found:
        name, dot, path = reference.partition(".")
        raw = self.environment.get(ENV_VARIABLE_PREFIX + name)
        if not dot or raw is None:
            return raw, _JAVA
        compiled = jsonpath.lookup(path)
        try:
            value = compiled.read(json.loads(raw)) if compiled is not None else None
        except ValueError:
            return None, _JAVA
        return value, jsonpath.parsed_json_text
