"""How the Java side prints values, byte for byte.

Conductor splices ``Objects.toString(value)`` into interpolated strings, so ``"n=${x}"`` shows ``5.0`` for a
double, ``{a=1, b=x}`` for a map and ``[1, 2]`` for a list. Lists built by Jayway itself (the matches of a
wildcard, scan, slice or filter) and arrays json-smart parsed from text are ``JSONArray`` objects whose
``toString`` is compact JSON with json-smart's escaping instead: ``["a\\/b",{"k":1}]``. Jayway's filters
also compare a string with a number through the number's Java text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",  # json-smart's default "protect 4 web" style
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def java_double(value: float) -> str:
    """``Double.toString``: plain between 1e-3 and 1e7 with at least one decimal, else ``d.dddE<n>``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    shortest = Decimal(repr(value))  # Python and Java >= 19 both print the shortest round-tripping digits
    if 1e-3 <= abs(value) < 1e7:
        text = format(shortest, "f")
        return text if "." in text else text + ".0"
    sign, digits, _ = shortest.normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{shortest.adjusted()}"


def java_number(value: int | float) -> str:
    return java_double(value) if isinstance(value, float) else str(value)


def java_text(value: Any) -> str:
    """``Objects.toString`` of a value read from the document (``HashMap``/``ArrayList`` notation)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_text(k)}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(java_text, value)) + "]"
    return str(value)


def _json_string(text: str) -> str:
    chars = []
    for char in text:
        escaped = _JSON_ESCAPES.get(char)
        if escaped is None:
            code = ord(char)
            if code <= 0x1F or 0x7F <= code <= 0x9F or 0x2000 <= code <= 0x20FF:
                escaped = f"\\u{code:04X}"
        chars.append(escaped or char)
    return '"' + "".join(chars) + '"'


def json_smart_text(value: Any) -> str:
    """json-smart's ``toJSONString`` (the ``toString`` of ``JSONArray``/``JSONObject``)."""
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_json_string(str(k))}:{json_smart_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(json_smart_text, value)) + "]"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "null"
    return java_text(value)


def parsed_json_text(value: Any) -> str:
    """``toString`` of what json-smart parsed from text: ``LinkedHashMap`` objects, ``JSONArray`` arrays."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_text(k)}={parsed_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return json_smart_text(value)
    return java_text(value)
