"""JSON objects given on the command line (``--input``, ``--task-input``): parsed, or a usage error."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer


def json_object(text: str, option: str) -> dict[str, Any]:
    """``text`` as a JSON object; anything else is a usage error naming ``option``."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise typer.BadParameter(f"not JSON: {error}", param_hint=option) from error
    if not isinstance(value, dict):
        raise typer.BadParameter("expected a JSON object", param_hint=option)
    return value


def read_text(path: Path, option: str) -> str:
    """A file's text, or standard input for ``-``."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text()
    except OSError as error:
        raise typer.BadParameter(f"cannot read {path}: {error.strerror}", param_hint=option) from error
