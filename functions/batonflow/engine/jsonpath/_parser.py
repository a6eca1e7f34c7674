"""Path text to tokens, following Jayway's ``PathCompiler`` including its leniencies.

Kept quirks (each one changes what a real workflow gets): a single character left after a complete token is
ignored (``$.a[`` reads ``$.a``), a name may directly follow ``]`` (``$['a']b``), and ``$.[0]`` equals
``$[0]``. Whatever Jayway rejects raises ``PathSyntaxError``.
"""

from __future__ import annotations

from batonflow.engine.jsonpath._filters import compile_filter
from batonflow.engine.jsonpath._lexing import closing, closing_quote, unescape
from batonflow.engine.jsonpath._tokens import (
    Filter,
    Function,
    Index,
    JsonPath,
    PathSyntaxError,
    Property,
    Scan,
    Slice,
    Token,
    Wildcard,
)

_INT_MAX = 2**31 - 1


def _int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise PathSyntaxError(f"not an array index: {text!r}") from None
    if abs(value) > _INT_MAX:
        raise PathSyntaxError(f"array index out of int range: {text}")
    return value


class _PathParser:
    __slots__ = ("ended", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.ended = text, 1, False

    def parse(self) -> JsonPath:
        text = self.text
        if len(text) > 1 and text[1] not in ".[":
            raise PathSyntaxError("expected '.' or '[' after the root")
        tokens: list[Token] = []
        while self.pos < len(text):
            tokens.append(self._next())
            if self.pos >= len(text) - 1:
                break  # Jayway stops when at most one character is left after a token
            if self.ended:
                raise PathSyntaxError("a function must end the path")
        last = tokens[-1] if tokens else None
        last = last.target if isinstance(last, Scan) else last
        if isinstance(last, Property):
            last.make_leaf()
        return JsonPath(text[0], tokens)

    def _skip_blanks(self, index: int) -> int:
        while index < len(self.text) and self.text[index] == " ":
            index += 1
        return index

    def _next(self) -> Token:
        text = self.text
        if text[self.pos] != ".":
            return self._token()
        scan = text.startswith("..", self.pos)
        self.pos += 2 if scan else 1
        if text[self.pos] == ".":
            raise PathSyntaxError(f"unexpected '.' at {self.pos}")
        token = self._token()
        if not scan:
            return token
        if isinstance(token, Function):
            raise PathSyntaxError("a deep scan must not be followed by a function")
        return Scan(token)

    def _token(self) -> Token:
        char = self.text[self.pos]
        if char == "[":
            return self._bracket()
        if char == "*":
            self.pos += 1
            return Wildcard()
        return self._name()

    def _name(self) -> Token:
        text, start = self.text, self.pos
        end = start
        while end < len(text) and text[end] not in ".[(":
            if text[end] == " ":
                raise PathSyntaxError("use ['name'] for a name with blanks")
            end += 1
        self.pos = end
        if end == len(text) or text[end] != "(":
            return Property((text[start:end],))
        if not text.startswith("()", end):
            raise PathSyntaxError("functions with arguments are not supported")
        self.pos, self.ended = end + 2, True
        return Function(text[start:end])

    def _bracket(self) -> Token:
        inner = self._skip_blanks(self.pos + 1)
        char = self.text[inner] if inner < len(self.text) else ""
        if char in ("'", '"'):
            return self._names(inner)
        if char.isdecimal() or char in ("-", ":"):
            return self._indexes()
        if char == "*":
            close = self._skip_blanks(inner + 1)
            if not self.text.startswith("]", close):
                raise PathSyntaxError("expected ']' after '[*'")
            self.pos = close + 1
            return Wildcard()
        if char == "?":
            return self._filter(inner)
        raise PathSyntaxError(f"cannot parse the token at {self.pos}")

    def _names(self, index: int) -> Token:
        text, names, quote = self.text, [], self.text[index]
        while True:
            if not text.startswith(quote, index):
                raise PathSyntaxError(f"expected a name quoted with {quote}")
            end = closing_quote(text, index)
            if end < 0:
                raise PathSyntaxError("unclosed quoted name")
            names.append(unescape(text[index + 1 : end]))
            index = self._skip_blanks(end + 1)
            if text.startswith(",", index):
                index = self._skip_blanks(index + 1)
            elif text.startswith("]", index):
                self.pos = index + 1
                return Property(tuple(names))
            else:
                raise PathSyntaxError("expected ',' or ']' after a quoted name")

    def _indexes(self) -> Token:
        end = self.text.find("]", self.pos)
        if end < 0:
            raise PathSyntaxError("unclosed '['")
        expression = self.text[self.pos + 1 : end].strip()
        self.pos = end + 1
        if any(not (char.isdecimal() or char in ",-: ") for char in expression):
            raise PathSyntaxError(f"bad array index {expression!r}")
        if ":" not in expression:
            return Index(tuple(_int(part.strip()) for part in expression.split(",")))
        if any(not (char.isdecimal() or char in "-:") for char in expression):
            raise PathSyntaxError(f"bad slice {expression!r}")
        parts = expression.split(":")
        start, stop = (_int(part) if part else None for part in parts[:2])
        if start is None and stop is None:
            raise PathSyntaxError("a slice needs a start or a stop")
        return Slice(start, stop)

    def _filter(self, question: int) -> Token:
        opening = self._skip_blanks(question + 1)
        close = closing(self.text, opening, "(", ")") if self.text.startswith("(", opening) else -1
        bracket = self._skip_blanks(close + 1) if close >= 0 else -1
        if bracket < 0 or not self.text.startswith("]", bracket):
            raise PathSyntaxError("expected [?(...)]")
        self.pos = bracket + 1
        return Filter(compile_filter(self.text[opening + 1 : close], parse_path))


def parse_path(text: str) -> JsonPath:
    """Compile a path that already starts with ``$`` or ``@`` and has no surrounding blanks."""
    if text.endswith("."):
        raise PathSyntaxError("a path must not end with '.' or '..'")
    return _PathParser(text).parse()
