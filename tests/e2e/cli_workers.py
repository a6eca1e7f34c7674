"""Plain functions for `baton worker` in tests/e2e/test_cli_graph_worker.py: imported by module path from a
`baton worker` subprocess, as a user's own module would be."""

from __future__ import annotations

from typing import Any

NOT_A_FUNCTION = 42


def shout(word: str) -> dict[str, Any]:
    return {"shouted": word.upper()}
