"""Filter expressions ``[?(...)]``: parsed once into closures ``(item, root) -> bool``.

Grammar (Jayway's ``FilterCompiler``, precedence ``!`` > ``&&`` > ``||``)::

    or       := and ('||' and)*
    and      := operand ('&&' operand)*
    operand  := '!' operand | '(' or ')' | relation
    relation := '!'? path                      -- existence check (a key holding null exists)
              | value ('=='|'!='|'<'|'<='|'>'|'>=') value
    value    := @path | $path | 'text' | "text" | number | true | false | null

Comparison follows Jayway's value nodes: a number equals a string that parses to the same decimal, a string
equals a number whose Java text it is (``'5' == 5`` but not ``'5' == 5.0``), booleans and nulls only equal
themselves, and the ordering operators compare only number with number and string with string. A missing
path compares as null (Jayway 2.10), so ``@.missing == null`` holds while ``[?(@.missing)]`` does not. An
existence check reads even a ``$`` path from the current item (Jayway quirk: ``[?($.a)]`` is ``[?(@.a)]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from batonflow.engine.jsonpath._java import java_number
from batonflow.engine.jsonpath._lexing import closing, closing_quote, unescape
from batonflow.engine.jsonpath._tokens import (
    LISTS,
    MAPS,
    EvaluationError,
    JsonPath,
    PathSyntaxError,
    is_number,
)

Predicate = Callable[[Any, Any], bool]
Getter = Callable[[Any, Any], Any]

_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_PATH_END: Final = frozenset(" \t\r\n<>=~!&|")
_NUMBER_CHARS: Final = frozenset("0123456789.-+eE")
_KEYWORDS: Final = (("true", True), ("false", False), ("null", None))


def _decimal(number: int | float) -> Decimal:
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def _equals(left: Any, right: Any) -> bool:
    if is_number(left):
        if is_number(right):
            return bool(left == right)
        if not isinstance(right, str) or _NUMBER.fullmatch(right) is None:
            return False
        return Decimal(right) == _decimal(left)
    if isinstance(left, str):
        return left == right if isinstance(right, str) else is_number(right) and left == java_number(right)
    if isinstance(left, bool):
        return isinstance(right, bool) and left == right
    if left is None:
        return right is None
    return isinstance(right, (*MAPS, *LISTS)) and bool(left == right)


def _ordered(left: Any, right: Any) -> bool:
    return (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str))


_COMPARATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "==": _equals,
    "!=": lambda left, right: not _equals(left, right),
    "<=": lambda left, right: _ordered(left, right) and left <= right,
    ">=": lambda left, right: _ordered(left, right) and left >= right,
    "<": lambda left, right: _ordered(left, right) and left < right,
    ">": lambda left, right: _ordered(left, right) and left > right,
}


def _found(path: JsonPath, start: Any, root: Any) -> list[Any] | None:
    try:
        return path.matches(start, root)
    except (EvaluationError, ArithmeticError, RecursionError):
        return None


def _path_value(path: JsonPath) -> Getter:
    def value(item: Any, root: Any) -> Any:
        found = _found(path, item if path.relative else root, root)
        if path.definite or found is None:
            return found[0] if found else None
        return found

    return value


def _exists(path: JsonPath, expected: bool) -> Predicate:
    # Jayway evaluates an existence check from the current item even for a $ path: [?($.a)] is [?(@.a)].
    return lambda item, root: bool(_found(path, item, root)) is expected


def _constant(value: Any) -> Getter:
    return lambda item, root: value


def _compare(operator: str, left: Getter, right: Getter) -> Predicate:
    compare = _COMPARATORS[operator]
    return lambda item, root: compare(left(item, root), right(item, root))


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda item, root: left(item, root) or right(item, root)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda item, root: left(item, root) and right(item, root)


def _negation(inner: Predicate) -> Predicate:
    return lambda item, root: not inner(item, root)


class _FilterParser:
    __slots__ = ("parse_path", "pos", "text")

    def __init__(self, text: str, parse_path: Callable[[str], JsonPath]) -> None:
        self.text, self.pos, self.parse_path = text, 0, parse_path

    def parse(self) -> Predicate:
        predicate = self._logical_or()
        self._skip()
        if self.pos != len(self.text):
            raise PathSyntaxError(f"unexpected text in filter at {self.pos}: {self.text!r}")
        return predicate

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _eat(self, token: str) -> bool:
        self._skip()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def _logical_or(self) -> Predicate:
        predicate = self._logical_and()
        while self._eat("||"):
            predicate = _either(predicate, self._logical_and())
        return predicate

    def _logical_and(self) -> Predicate:
        predicate = self._operand()
        while self._eat("&&"):
            predicate = _both(predicate, self._operand())
        return predicate

    def _operand(self) -> Predicate:
        self._skip()
        if self.text.startswith("!", self.pos) and self.text[self.pos + 1 :].lstrip()[:1] not in ("$", "@"):
            self.pos += 1
            return _negation(self._operand())
        if self._eat("("):
            predicate = self._logical_or()
            if not self._eat(")"):
                raise PathSyntaxError("unbalanced '(' in filter")
            return predicate
        return self._relation()

    def _relation(self) -> Predicate:
        negated = self._eat("!")
        left, left_path = self._value()
        operator = next((op for op in _COMPARATORS if self._eat(op)), None)
        if operator is not None:
            right, _ = self._value()
            return _compare(operator, left, right)
        self._skip()
        at_end = self.pos == len(self.text) or self.text.startswith((")", "&&", "||"), self.pos)
        if left_path is None or not at_end:
            raise PathSyntaxError(f"unsupported filter at {self.pos}: {self.text!r}")
        return _exists(left_path, not negated)

    def _value(self) -> tuple[Getter, JsonPath | None]:
        self._skip()
        text, start = self.text, self.pos
        char = text[start : start + 1]
        if char in ("$", "@"):
            path = self.parse_path(text[start : self._path_end(start)])
            return _path_value(path), path
        if char in ("'", '"'):
            end = closing_quote(text, start)
            if end < 0:
                raise PathSyntaxError("unclosed string in filter")
            self.pos = end + 1
            return _constant(unescape(text[start + 1 : end])), None
        if char == "-" or char.isdecimal():
            end = start
            while end < len(text) and (text[end] in _NUMBER_CHARS or text[end].isdecimal()):
                end += 1
            number = text[start:end]
            if not _NUMBER.fullmatch(number):
                raise PathSyntaxError(f"bad number {number!r} in filter")
            self.pos = end
            return _constant(float(number) if any(c in number for c in ".eE") else int(number)), None
        for word, value in _KEYWORDS:
            if text.startswith(word, start):
                self.pos = start + len(word)
                return _constant(value), None
        raise PathSyntaxError(f"unsupported filter value at {start}: {text!r}")

    def _path_end(self, start: int) -> int:
        """Where an ``@``/``$`` path inside a filter ends: a blank, an operator or a closing parenthesis."""
        text, index, depth = self.text, start + 1, 0
        while index < len(text):
            char = text[index]
            if char == "[":
                index = closing(text, index, "[", "]")
                if index < 0:
                    raise PathSyntaxError("unclosed '[' in filter")
            elif char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char in _PATH_END:
                break
            index += 1
        self.pos = index
        return index


def compile_filter(text: str, parse_path: Callable[[str], JsonPath]) -> Predicate:
    """Compile the text between ``[?(`` and ``)]``; ``parse_path`` compiles ``@``/``$`` operand paths."""
    return _FilterParser(text, parse_path).parse()
