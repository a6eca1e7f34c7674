"""Workflow search (``GET /api/workflow/search`` and ``search-v2``, REFERENCE §5.2) over the table's GSIs,
never a Scan.

Conductor hands ``query`` and ``freeText`` to its indexing backend; Baton understands the clauses people
write, joined by ``AND``: ``workflowType = X``, ``workflowType IN (a, b)``, ``status = S``,
``status IN (...)``, ``correlationId = c`` (or ``IN``), and ``startTime`` compared with ``>``, ``>=``,
``<``, ``<=`` to epoch milliseconds (``startTime`` is the workflow's create time). Values may be quoted
with ``'`` or ``"``. Anything else (``OR``, ``NOT``, other fields or operators) is a 400, rather than a
silently wider or narrower answer. ``freeText`` ``*`` (or empty) matches everything; any other text matches
a workflow whose id or correlation id is exactly that text.

Which index serves a search:

* ``freeText`` — the header of that id (GetItem) and ``workflows-by-correlation`` for that correlation id;
* ``correlationId`` — ``workflows-by-correlation``;
* ``workflowType`` — ``workflows-by-name``: per name (and per status when given) one Query per name shard,
  status in the key condition, the time window as a filter;
* otherwise — ``workflows-by-status``: per status (all six when none is given) one Query per status shard,
  the time window in the key condition.

Cost: every index entry that matches is read (small projected items), because ``totalHits`` is the exact
count of matches and the shards are merged and sorted before ``start``/``size`` apply; only the headers of
the returned page are then read. Reads therefore grow with the number of matches, never with the table.
Sorting by ``updateTime`` (not in any index, as it changes on every decide) reads the header of every
match, as do the ``freeText`` and ``correlationId`` paths (whose matches are few). The indexes are eventually
consistent: a workflow that just started or changed status may be missing or found under its former status;
the returned rows are read from the table, so they show the current state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from batonflow.errors import BadRequestError
from batonflow.model import Workflow, WorkflowStatus
from batonflow.service.runtime import Runtime

DEFAULT_SIZE = 100
MAX_SIZE = 5000
"""Conductor refuses a larger ``size`` with a 400 (REFERENCE §6.4)."""
SORT_FIELDS = ("startTime", "updateTime")
DEFAULT_SORT = (("startTime", False),)
"""Newest first when no ``sort`` is given (what Conductor's UI asks for)."""

_TOKEN = re.compile(
    r"""\s*(?:(?P<quoted>'[^']*'|"[^"]*")|(?P<op>>=|<=|!=|=|>|<|\(|\)|,)|(?P<word>[^\s=<>!(),'"]+))"""
)
_SETS = {"workflowType": "workflow_types", "status": "statuses", "correlationId": "correlation_ids"}
_TIME_OPERATORS = (">", ">=", "<", "<=")
_PUNCTUATION = frozenset({*_TIME_OPERATORS, "=", "!=", "(", ")", ","})
_MAX_EPOCH_MS = 10**15
MAX_KEY_TEXT = 1024
"""Longer free text is no id nor correlation id Baton stores (DynamoDB keys end at 2048 bytes)."""

Parsed = TypeVar("Parsed")
Clause = Callable[[list[str], int, Parsed], tuple[Parsed, int]]
"""Reads one clause at a token position into the query parsed so far: the new query and the next position."""


@dataclass(frozen=True)
class SearchQuery:
    """A parsed ``query``: every given constraint must hold (None: unconstrained)."""

    workflow_types: frozenset[str] | None = None
    statuses: frozenset[WorkflowStatus] | None = None
    correlation_ids: frozenset[str] | None = None
    created_from: int | None = None
    """Inclusive lower bound of the create time."""
    created_to: int | None = None
    """Inclusive upper bound of the create time."""

    @property
    def created(self) -> tuple[int | None, int | None]:
        return self.created_from, self.created_to

    @property
    def empty_window(self) -> bool:
        return (
            self.created_from is not None
            and self.created_to is not None
            and self.created_from > self.created_to
        )

    def matches(self, workflow: Workflow) -> bool:
        return (
            (self.workflow_types is None or workflow.workflow_name in self.workflow_types)
            and (self.statuses is None or workflow.status in self.statuses)
            and (self.correlation_ids is None or workflow.correlation_id in self.correlation_ids)
            and (self.created_from is None or workflow.create_time >= self.created_from)
            and (self.created_to is None or workflow.create_time <= self.created_to)
        )


def parse_query(text: str | None) -> SearchQuery:
    """Parse a Conductor search ``query``; BadRequestError names what is not supported."""
    return parse_clauses(text, SearchQuery(), workflow_clause)


def parse_clauses(text: str | None, parsed: Parsed, clause: Clause[Parsed]) -> Parsed:
    """Read the ``AND``-joined clauses of ``text`` into ``parsed``, one ``clause`` call each (the grammar
    shared by workflow and task search)."""
    tokens = _tokenize(text or "")
    position = 0
    while position < len(tokens):
        if position:
            if tokens[position].upper() != "AND":
                raise BadRequestError(f"Unsupported search query: expected AND, found '{tokens[position]}'")
            position += 1
        parsed, position = clause(tokens, position, parsed)
    return parsed


def parse_sort(
    text: str | None,
    *,
    fields: tuple[str, ...] = SORT_FIELDS,
    default: tuple[tuple[str, bool], ...] = DEFAULT_SORT,
) -> tuple[tuple[str, bool], ...]:
    """``field:ASC|DESC`` terms separated by ``|`` (or ``,``) into ``(field, ascending)`` pairs."""
    if not text or not text.strip():
        return default
    keys = []
    for term in re.split(r"[|,]", text):
        field, _, direction = term.strip().partition(":")
        direction = direction.strip().upper() or "ASC"
        if field not in fields or direction not in ("ASC", "DESC"):
            raise BadRequestError(
                f"Unsupported sort '{term.strip()}': use {' or '.join(fields)} with :ASC or :DESC"
            )
        keys.append((field, direction == "ASC"))
    return tuple(keys)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            raise BadRequestError(f"Unsupported search query: cannot read '{text[position:].strip()}'")
        tokens.append(found.group(found.lastgroup or "word"))
        position = found.end()
    return tokens


def _value(token: str) -> str:
    """A value token, unquoted; punctuation where a value belongs is refused."""
    if token in _PUNCTUATION:
        raise BadRequestError(f"Unsupported search query: a value was expected, found '{token}'")
    return token[1:-1] if token[:1] in ("'", '"') and len(token) >= 2 else token


def workflow_clause(tokens: list[str], position: int, parsed: SearchQuery) -> tuple[SearchQuery, int]:
    """One clause of a workflow search (a :data:`Clause`)."""
    require_clause(tokens, position)
    field, operator = tokens[position], tokens[position + 1].upper()
    if field in _SETS and operator in ("=", "IN"):
        values, position = clause_values(tokens, position)
        return _constrain(parsed, field, values), position
    if field == "startTime" and operator in _TIME_OPERATORS:
        return _bound(parsed, operator, _epoch_ms(_value(tokens[position + 2]))), position + 3
    raise BadRequestError(
        f"Unsupported search clause '{field} {tokens[position + 1]}': use workflowType, status or "
        "correlationId with = or IN (...), and startTime with >, >=, < or <=, joined by AND"
    )


def require_clause(tokens: list[str], position: int) -> None:
    """Refuse a clause cut short: a field, an operator and a value at least."""
    if position + 2 >= len(tokens):
        raise BadRequestError(f"Unsupported search query: incomplete clause '{' '.join(tokens[position:])}'")


def clause_values(tokens: list[str], position: int) -> tuple[list[str], int]:
    """The values of the ``field = v`` or ``field IN (v, ...)`` clause at ``position``, and the position
    after it."""
    if tokens[position + 1] == "=":
        return [_value(tokens[position + 2])], position + 3
    return _value_list(tokens, position + 2)


def _value_list(tokens: list[str], position: int) -> tuple[list[str], int]:
    if tokens[position] != "(":
        raise BadRequestError("Unsupported search query: IN needs a list in parentheses")
    values: list[str] = []
    position += 1
    while position < len(tokens):
        token = tokens[position]
        if token in _PUNCTUATION:
            raise BadRequestError("Unsupported search query: malformed IN list")
        values.append(_value(token))
        following = tokens[position + 1] if position + 1 < len(tokens) else None
        if following == ")":
            return values, position + 2
        if following != ",":
            raise BadRequestError("Unsupported search query: malformed IN list")
        position += 2
    raise BadRequestError("Unsupported search query: unclosed IN list")


def _constrain(parsed: SearchQuery, field: str, values: list[str]) -> SearchQuery:
    """Add ``field`` IN ``values``; a field given twice must match both times."""
    given: frozenset[str] | frozenset[WorkflowStatus] = frozenset(values)
    if field == "status":
        unknown = sorted(v for v in values if v not in WorkflowStatus.__members__)
        if unknown:
            raise BadRequestError(f"Unknown workflow status in search query: {', '.join(unknown)}")
        given = frozenset(WorkflowStatus(v) for v in values)
    attribute = _SETS[field]
    current = getattr(parsed, attribute)
    return replace(parsed, **{attribute: given if current is None else current & given})


def _bound(parsed: SearchQuery, operator: str, value: int) -> SearchQuery:
    if operator in (">", ">="):
        low = value + 1 if operator == ">" else value
        return replace(
            parsed, created_from=low if parsed.created_from is None else max(parsed.created_from, low)
        )
    high = value - 1 if operator == "<" else value
    return replace(parsed, created_to=high if parsed.created_to is None else min(parsed.created_to, high))


def _epoch_ms(value: str) -> int:
    """Epoch milliseconds, or an ISO-8601 date-time (UTC unless it says otherwise)."""
    if value.lstrip("-").isdigit():
        if abs(int(value)) > _MAX_EPOCH_MS:
            raise BadRequestError(f"startTime out of range in search query: {value}")
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise BadRequestError(
            f"Invalid startTime in search query: {value} (epoch milliseconds expected)"
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class SearchPage:
    total_hits: int
    workflows: list[Workflow]
    """The page, without tasks."""


def search(
    runtime: Runtime,
    query: SearchQuery,
    *,
    free_text: str | None = None,
    sort: tuple[tuple[str, bool], ...] = DEFAULT_SORT,
    start: int = 0,
    size: int = DEFAULT_SIZE,
) -> SearchPage:
    """The workflows matching ``query`` and ``free_text``, sorted, from ``start``, at most ``size``."""
    check_page(start, size)
    if query.empty_window:
        return SearchPage(0, [])
    executions = runtime.executions
    created, loaded = matching(runtime, query, free_text=free_text)
    if any(field == "updateTime" for field, _ in sort):
        loaded.update(executions.load_headers(i for i in created if i not in loaded))
        created = {i: t for i, t in created.items() if i in loaded}  # removed since the index was read
    ordered = _sorted(created, loaded, sort)
    page = ordered[start : start + size]
    loaded.update(executions.load_headers(i for i in page if i not in loaded))
    return SearchPage(len(ordered), [loaded[i] for i in page if i in loaded])


def check_page(start: int, size: int) -> None:
    """Refuse a negative ``start`` and a ``size`` outside 0..MAX_SIZE, as Conductor does."""
    if start < 0:
        raise BadRequestError(f"start must not be negative: {start}")
    if not 0 <= size <= MAX_SIZE:
        raise BadRequestError(f"size must be between 0 and {MAX_SIZE}: {size}")


def matching(
    runtime: Runtime, query: SearchQuery, *, free_text: str | None = None
) -> tuple[dict[str, int], dict[str, Workflow]]:
    """The create time of every workflow matching ``query`` and ``free_text``, by id (unsorted), and the
    headers read on the way, by id (those of the ``freeText`` and ``correlationId`` paths)."""
    executions = runtime.executions
    text = (free_text or "").strip()
    if text and text != "*":
        ids = [text, *executions.workflow_ids_with_correlation(text)] if len(text) <= MAX_KEY_TEXT else []
    elif query.correlation_ids is not None:
        ids = [i for c in sorted(query.correlation_ids) for i in executions.workflow_ids_with_correlation(c)]
    else:
        return dict(_index_matches(runtime, query)), {}
    loaded = {i: w for i, w in executions.load_headers(ids).items() if query.matches(w)}
    return {i: w.create_time for i, w in loaded.items()}, loaded


def _index_matches(runtime: Runtime, query: SearchQuery) -> Iterable[tuple[str, int]]:
    """``(id, createTime)`` of the matches, from ``workflows-by-name`` when the query names workflow types,
    else from ``workflows-by-status``."""
    statuses = sorted(query.statuses) if query.statuses is not None else list(WorkflowStatus)
    if query.workflow_types is not None:
        status_keys: list[WorkflowStatus | None] = [*statuses] if query.statuses is not None else [None]
        for name in sorted(query.workflow_types):
            for status in status_keys:
                entries = runtime.executions.search_by_name(
                    name, status.value if status else None, query.created
                )
                yield from ((workflow_id, created) for created, workflow_id in entries)
        return
    for status in statuses:
        entries = runtime.executions.search_by_status(status.value, query.created)
        yield from ((workflow_id, created) for created, workflow_id in entries)


def _sorted(
    created: dict[str, int], loaded: dict[str, Workflow], sort: tuple[tuple[str, bool], ...]
) -> list[str]:
    """The ids ordered by the sort keys, then by id (stable pages); sorts by the least significant key
    first."""
    ordered = sorted(created)
    for field, ascending in reversed(sort):
        if field == "startTime":
            ordered.sort(key=lambda i: created[i], reverse=not ascending)
        else:
            ordered.sort(key=lambda i: loaded[i].update_time, reverse=not ascending)
    return ordered
