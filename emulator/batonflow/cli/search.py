"""``baton search``: find executions by name, status and start time (Conductor's search query)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from batonflow.cli.connection import UrlOption, api_errors, client_from_options
from batonflow.cli.execution_tree import format_duration, status_markup

WORKFLOW_STATUSES = ("RUNNING", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED", "PAUSED")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhdw])$")


def search(
    name: Annotated[str | None, typer.Option(help="The workflow definition's name.")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(help=f"Only this status (repeatable): {', '.join(WORKFLOW_STATUSES)}."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Started since: an age (30m, 1h, 2d, 1w) or an ISO date/time (UTC if no offset)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="Rows to show, newest first.")] = 20,
    url: UrlOption = None,
) -> None:
    """Find workflow executions by name, status and start time, newest first.

    The filters are sent as Conductor's search query (workflowType = 'x' AND status IN (A,B) AND
    startTime > epoch-ms): the server filters, so --limit counts matching rows."""
    now_ms = int(time.time() * 1000)
    query = build_query(name, status or [], parse_since(since, now_ms) if since else None)
    with api_errors():
        found = client_from_options(url).search_workflows(query or None, size=limit)
    rows = found.get("results") or []
    if not rows:
        Console().print("No workflows found.")
        return
    table = Table(
        Column("Workflow id", no_wrap=True, min_width=36),
        Column("Name", overflow="fold", min_width=5),
        Column("Ver", justify="right"),
        Column("Status", no_wrap=True, min_width=9),
        Column("Start (UTC)", min_width=10),
        Column("Duration", justify="right", no_wrap=True),
        box=None,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    for row in rows:
        table.add_row(
            escape(str(row.get("workflowId"))),
            escape(str(row.get("workflowType"))),
            str(row.get("version", "")),
            status_markup(row.get("status")),
            _start(row.get("startTime")),
            _duration(row, now_ms),
        )
    console = Console()
    console.print(table)
    total = found.get("totalHits", len(rows))
    if total > len(rows):
        console.print(f"[dim]{len(rows)} of {total}; --limit shows more.[/dim]")


def build_query(name: str | None, statuses: list[str], since_ms: int | None) -> str:
    """Conductor's search ``query`` for these filters (empty: everything)."""
    clauses = []
    if name:
        quote = '"' if "'" in name else "'"
        clauses.append(f"workflowType = {quote}{name}{quote}")
    if statuses:
        wanted = [status.strip().upper() for status in statuses]
        unknown = [status for status in wanted if status not in WORKFLOW_STATUSES]
        if unknown:
            raise typer.BadParameter(
                f"{', '.join(unknown)}: use {', '.join(WORKFLOW_STATUSES)}", param_hint="--status"
            )
        clauses.append(f"status IN ({','.join(dict.fromkeys(wanted))})")
    if since_ms is not None:
        clauses.append(f"startTime > {since_ms}")
    return " AND ".join(clauses)


def parse_since(text: str, now_ms: int) -> int:
    """``30m``, ``1h``, ``2d``, ``1w`` before ``now_ms``, or an ISO 8601 date/time (UTC when naive):
    epoch ms."""
    age = _AGE.match(text.strip())
    if age:
        delta = timedelta(**{_UNITS[age.group("unit")]: int(age.group("amount"))})
        return now_ms - int(delta.total_seconds() * 1000)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise typer.BadParameter(
            "an age (30m, 1h, 2d, 1w) or an ISO date such as 2026-01-31 or 2026-01-31T09:00",
            param_hint="--since",
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _start(value: Any) -> str:
    """WorkflowSummary's ``startTime`` is an ISO string (``2026-01-31T09:00:00.123Z``)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return escape(str(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _duration(row: dict[str, Any], now_ms: int) -> str:
    if row.get("status") in ("RUNNING", "PAUSED"):
        try:
            started = datetime.fromisoformat(str(row.get("startTime")).replace("Z", "+00:00"))
        except ValueError:
            return ""
        return format_duration(max(0, now_ms - int(started.timestamp() * 1000))) + " so far"
    return format_duration(int(row.get("executionTime") or 0))
