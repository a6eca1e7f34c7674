"""conductor-python worker functions for tests/e2e/test_api_auth.py: TaskHandler starts each worker in a
spawned process, which imports its function from here.

No ``from __future__ import annotations``: the SDK converts inputs with ``isinstance(value, annotation)``
and needs real types, not strings.
"""


def shout(text: str) -> dict:
    return {"shout": text.upper()}
