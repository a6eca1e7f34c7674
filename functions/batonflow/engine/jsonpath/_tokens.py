"""Compiled path steps and their evaluation.

A path is a tuple of tokens. Evaluation moves the list of current nodes through the tokens, each token
expanding every node into its matches. Expanding the whole list token by token gives the matches in the same
order as Jayway's depth-first walk (the order is lexicographic in both), with no recursion except in the deep
scan, which visits nodes in pre-order as Jayway's ``ScanPathToken`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

MAPS: Final = (dict, Mapping)
LISTS: Final = (list, tuple)
_CONTAINERS: Final = (*MAPS, *LISTS)


class PathSyntaxError(ValueError):
    """A path Jayway would refuse to compile."""


class EvaluationError(Exception):
    """A runtime failure that makes Jayway's whole read fail (Conductor then substitutes null)."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Token:
    """One step of a path: ``select`` appends what it matches in ``node`` to ``out``."""

    __slots__ = ("definite",)

    def __init__(self, definite: bool) -> None:
        self.definite = definite

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        raise NotImplementedError

    def scan_matches(self, node: Any, root: Any) -> bool:
        """Whether a deep scan applies this token at ``node`` (Jayway's scan predicates)."""
        return False


class Property(Token):
    __slots__ = ("merge", "names")

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__(len(names) == 1)
        self.names = names
        self.merge = False

    def make_leaf(self) -> None:
        """Several names on the last token read as one map of the names present, a definite result."""
        self.merge = len(self.names) > 1
        self.definite = self.definite or self.merge

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if not isinstance(node, MAPS):
            return
        if self.merge:
            out.append({name: node[name] for name in self.names if name in node})
            return
        for name in self.names:
            if name in node:
                out.append(node[name])

    def scan_matches(self, node: Any, root: Any) -> bool:
        if not isinstance(node, MAPS):
            return False
        return not self.definite or all(name in node for name in self.names)


def _append_index(node: Any, index: int, out: list[Any]) -> None:
    position = index + len(node) if index < 0 else index
    if 0 <= position < len(node):
        out.append(node[position])


class Index(Token):
    __slots__ = ("indexes",)

    def __init__(self, indexes: tuple[int, ...]) -> None:
        super().__init__(len(indexes) == 1)
        self.indexes = indexes

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, LISTS):
            for index in self.indexes:
                _append_index(node, index, out)

    def scan_matches(self, node: Any, root: Any) -> bool:
        return isinstance(node, LISTS)


class Slice(Index):
    """``[a:]``, ``[:b]``, ``[a:b]`` with Jayway's arithmetic: ``[-2:3]`` walks -2, -1, 0, 1, 2."""

    __slots__ = ("start", "stop")

    def __init__(self, start: int | None, stop: int | None) -> None:
        super().__init__(())
        self.definite = False
        self.start, self.stop = start, stop

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if not isinstance(node, LISTS) or not node:
            return
        length, start, stop = len(node), self.start, self.stop
        if start is not None and stop is not None:
            for index in range(start, min(length, stop)):
                _append_index(node, index, out)
        elif start is not None:
            out.extend(node[max(0, start + length if start < 0 else start) :])
        elif stop is not None:
            out.extend(node[: max(0, min(length, stop + length if stop < 0 else stop))])


class Wildcard(Token):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(False)

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, MAPS):
            out.extend(node.values())
        elif isinstance(node, LISTS):
            out.extend(node)

    def scan_matches(self, node: Any, root: Any) -> bool:
        return True


class Filter(Token):
    """``[?(...)]``: keeps a map that passes, or the items of a list that pass.

    Applied to anything else after definite steps (``$.text[?(@.x)]``), Jayway fails the whole read.
    """

    __slots__ = ("accepts", "strict")

    def __init__(self, accepts: Callable[[Any, Any], bool]) -> None:
        super().__init__(False)
        self.accepts = accepts
        self.strict = False

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if isinstance(node, MAPS):
            if self.accepts(node, root):
                out.append(node)
        elif isinstance(node, LISTS):
            out.extend(item for item in node if self.accepts(item, root))
        elif self.strict:
            raise EvaluationError("a filter cannot be applied to a primitive")

    def scan_matches(self, node: Any, root: Any) -> bool:
        return self.accepts(node, root)


class Scan(Token):
    """``..`` fused with the token after it, which is applied at every node in pre-order."""

    __slots__ = ("target",)

    def __init__(self, target: Token) -> None:
        super().__init__(False)
        self.target = target

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        if self.target.scan_matches(node, root):
            self.target.select(node, root, out)
        for child in node.values() if isinstance(node, MAPS) else node if isinstance(node, LISTS) else ():
            if isinstance(child, _CONTAINERS):
                self.select(child, root, out)


def _length(node: Any) -> int | None:
    return len(node) if isinstance(node, _CONTAINERS) else None


def _numbers(node: Any) -> list[float]:
    numbers = [float(item) for item in node if is_number(item)] if isinstance(node, LISTS) else []
    if not numbers:
        raise EvaluationError("aggregation over no numbers")
    return numbers


def _element(position: int) -> Callable[[Any], Any]:
    def element(node: Any) -> Any:
        if not isinstance(node, LISTS) or not node:
            raise EvaluationError("first()/last() need a non-empty array")
        return node[position]

    return element


def _avg(node: Any) -> float:
    numbers = _numbers(node)
    return sum(numbers) / len(numbers)


def _stddev(node: Any) -> float:
    numbers = _numbers(node)
    count, total = len(numbers), sum(numbers)
    variance = sum(x * x for x in numbers) / count - total * total / count / count
    return math.sqrt(max(variance, 0.0))  # rounding can dip below 0 where Java answers NaN


FUNCTIONS: Final[dict[str, Callable[[Any], Any]]] = {
    "length": _length,
    "size": _length,
    "keys": lambda node: list(node) if isinstance(node, MAPS) else None,
    "first": _element(0),
    "last": _element(-1),
    "min": lambda node: min(_numbers(node)),
    "max": lambda node: max(_numbers(node)),
    "sum": lambda node: sum(_numbers(node)),
    "avg": _avg,
    "stddev": _stddev,
}


class Function(Token):
    __slots__ = ("apply", "name")

    def __init__(self, name: str) -> None:
        super().__init__(True)
        if name not in FUNCTIONS:
            raise PathSyntaxError(f"unknown function {name}()")
        self.name, self.apply = name, FUNCTIONS[name]

    def select(self, node: Any, root: Any, out: list[Any]) -> None:
        out.append(self.apply(node))

    def aggregate(self, matches: list[Any], root: Any) -> Any:
        """Jayway's ``$..x.fn()``: ``fn`` gets ``$..x`` as an argument, which each function reads its own way.

        ``length()`` counts the children of every match, the numeric functions use the matches that are
        numbers, and ``keys()``/``first()``/``last()`` ignore the argument and read the document root.
        """
        if self.name in ("length", "size"):
            return sum(len(match) for match in matches if isinstance(match, _CONTAINERS))
        return self.apply(root if self.name in ("keys", "first", "last") else matches)


class JsonPath:
    """A compiled path. ``read`` never raises."""

    __slots__ = ("aggregate", "definite", "names", "relative", "tokens")

    def __init__(self, root: str, tokens: list[Token]) -> None:
        self.relative = root == "@"
        self.aggregate: Function | None = None
        last = tokens[-1] if tokens else None
        if len(tokens) > 1 and isinstance(tokens[0], Scan) and isinstance(last, Function):
            self.aggregate, tokens = last, tokens[:-1]  # Jayway reads $..x.fn() as fn($..x)
        self.tokens = tuple(tokens)
        self.definite = self.aggregate is not None or all(token.definite for token in self.tokens)
        for position, token in enumerate(self.tokens):
            if isinstance(token, Filter):
                token.strict = all(upstream.definite for upstream in self.tokens[:position])
        # Most paths are plain name chains (workflow.input.x): ``read`` walks those without token objects.
        chain = self.aggregate is None and all(type(t) is Property and len(t.names) == 1 for t in self.tokens)
        self.names = tuple(t.names[0] for t in self.tokens if isinstance(t, Property)) if chain else None

    def matches(self, start: Any, root: Any) -> list[Any]:
        """Every match from ``start`` (``root`` is what ``$`` means in filters). May raise EvaluationError."""
        nodes = [start]
        for token in self.tokens:
            selected: list[Any] = []
            for current in nodes:
                token.select(current, root, selected)
            nodes = selected
            if not nodes:
                break
        if self.aggregate is not None:
            return [self.aggregate.aggregate(nodes, root)]
        return nodes

    def read(self, document: Any) -> Any:
        """The value (definite path; None when missing) or the list of matches (any other path)."""
        if self.names is not None:
            for name in self.names:
                if not isinstance(document, MAPS) or name not in document:
                    return None
                document = document[name]
            return document
        try:
            found = self.matches(document, document)
        except (EvaluationError, ArithmeticError, RecursionError):
            return None
        if self.definite:
            return found[0] if found else None
        return found
