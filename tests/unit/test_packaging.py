"""The import name ``batonflow`` is one PEP 420 namespace spread over four source folders."""

from __future__ import annotations

from pathlib import Path

import batonflow

ROOT = Path(__file__).resolve().parents[2]
PORTIONS = ("functions", "sdk", "emulator", "infra")


def test_no_portion_has_a_batonflow_init_file():
    for portion in PORTIONS:
        assert (ROOT / portion / "batonflow").is_dir()
        assert not (ROOT / portion / "batonflow" / "__init__.py").exists(), portion


def test_every_portion_is_importable_under_the_one_namespace():
    paths = {Path(p).resolve() for p in batonflow.__path__}
    assert {ROOT / portion / "batonflow" for portion in PORTIONS} <= paths
