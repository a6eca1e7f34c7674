"""The JsonPath dialect of ``${...}`` parameter paths: Conductor's Jayway JsonPath subset (REFERENCE §2.4).

Conductor reads every parameter path with Jayway JsonPath in ``SUPPRESS_EXCEPTIONS`` mode over a plain map
document. This package reproduces what workflows rely on, checked case by case against Jayway 2.10:

* a path not starting with ``$`` or ``@`` is read as ``$.`` + path (so ``.x`` is the deep scan ``$..x``);
  leading blanks make a path malformed, trailing blanks are ignored (Jayway quirks);
* ``.name``; ``['name']``, ``["a", "b"]`` (several names on the last step read as one map of those present);
  ``[0]``, ``[-1]``, ``[0,2]``; slices ``[1:3]``, ``[:2]``, ``[-2:]``; wildcards ``.*``/``[*]``; deep scan
  ``..``; filters ``[?(...)]`` (grammar in ``_filters``); a final no-argument function:
  ``length()``/``size()`` (of a list or map; None otherwise, strings included), ``keys()``, ``first()``,
  ``last()``, ``min()``, ``max()``, ``sum()``, ``avg()``, ``stddev()`` (floats; over no numbers they fail);
* a *definite* path (names and single indexes only) yields the value, or None when a segment is missing; any
  other path yields the list of its matches, empty when nothing matches; ``$..x.fn()`` is ``fn`` of that list;
* a malformed path or a failing function yields None, as Conductor substitutes null when a read throws.

Not supported, read as malformed (None): function arguments (``concat``, ``append``, ``index``), steps after a
function, the filter operators ``=~ === !== in nin subsetof anyof noneof size empty contains``, JSON literals
in filters and ``[?]`` placeholders.

Jayway defects not reproduced: ``max()`` starts from ``Double.MIN_VALUE`` (4.9E-324 for all-negative input),
``last()`` fails on a one-item list, and after a deep scan an index, slice, wildcard or filter that is not the
last step makes Jayway apply the *following* step to every element of every array visited (with results that
depend on traversal order). Here those give the true maximum, the last item, and the steps as written.

Compiled paths are cached on their text (``lru_cache``): the same few paths are read on every scheduling pass.
"""

from __future__ import annotations

import functools
from typing import Any

from batonflow.engine.jsonpath._java import java_text, json_smart_text, parsed_json_text
from batonflow.engine.jsonpath._parser import parse_path
from batonflow.engine.jsonpath._tokens import JsonPath, PathSyntaxError

__all__ = [
    "JsonPath",
    "PathSyntaxError",
    "compile_path",
    "java_text",
    "json_smart_text",
    "lookup",
    "parsed_json_text",
    "read",
]


def compile_path(path: str) -> JsonPath:
    """Compile ``path`` with Jayway's rules; raises ``PathSyntaxError`` where Jayway would refuse it."""
    text = path.rstrip()
    if not text or text[0].isspace():
        raise PathSyntaxError(f"blank path or leading blanks: {path!r}")
    return parse_path(text if text[0] in "$@" else "$." + text)


@functools.lru_cache(maxsize=4096)
def lookup(path: str) -> JsonPath | None:
    """The compiled ``path``, cached; None when it is malformed (the failure is cached too)."""
    try:
        return compile_path(path)
    except (ValueError, RecursionError):  # PathSyntaxError, or a literal Python refuses (int digit limit)
        return None


def read(document: Any, path: str) -> Any:
    """Read ``path`` from ``document`` as Conductor does; never raises (malformed or missing -> None)."""
    compiled = lookup(path)
    return None if compiled is None else compiled.read(document)
