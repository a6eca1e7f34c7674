"""Character-level helpers shared by the path and filter parsers."""

from __future__ import annotations

from batonflow.engine.jsonpath._tokens import PathSyntaxError

_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def unescape(text: str) -> str:
    """Jayway's ``Utils.unescape`` of a quoted name or string literal (``\\'``, ``\\n``, ``\\u00e9``...)."""
    if "\\" not in text:
        return text
    chars, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            index += 1
            char = text[index]
            if char == "u":
                try:
                    char = chr(int(text[index + 1 : index + 5], 16))
                except ValueError:
                    raise PathSyntaxError(f"bad \\u escape in {text!r}") from None
                index += 4
            else:
                char = _ESCAPES.get(char, char)
        chars.append(char)
        index += 1
    return "".join(chars)


def closing_quote(text: str, start: int) -> int:
    """Index of the quote closing the one at ``start`` (backslash escapes skipped); -1 when unclosed."""
    quote, index = text[start], start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 1
        elif text[index] == quote:
            return index
        index += 1
    return -1


def closing(text: str, start: int, opening: str, closer: str) -> int:
    """Index of the bracket closing the one at ``start``, skipping quoted strings; -1 when unclosed."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char in "'\"":
            index = closing_quote(text, index)
            if index < 0:
                return -1
        elif char == opening:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1
