"""A handler pauses the garbage collector while it loads, and must turn it back on (batonflow.handlers)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from batonflow.bench.cold_import import HANDLER_MODULES, child_environment

_CHILD = """
import gc, importlib, sys
importlib.import_module(sys.argv[1])
print(gc.isenabled(), gc.get_freeze_count() > 0)
"""


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_importing_a_handler_leaves_the_collector_on_and_what_it_loaded_frozen(module: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, module],
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.split() == ["True", "True"]


def test_the_package_pauses_the_collector_until_initialised() -> None:
    child = (
        "import gc, batonflow.handlers as h; on = gc.isenabled(); h.initialised(); print(on, gc.isenabled())"
    )
    completed = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["False", "True"]
