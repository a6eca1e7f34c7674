"""The wheel holds all four portions of the ``batonflow`` namespace and the template, and no
``batonflow/__init__.py`` (which would hide every portion but one)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_merges_every_portion(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    [wheel] = tmp_path.glob("batonflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "batonflow/engine/decider.py",
        "batonflow/handlers/api.py",
        "batonflow/sdk/__init__.py",
        "batonflow/emulator/stack.py",
        "batonflow/cli/main.py",
        "batonflow/infra/provision.py",
        "batonflow/infra/template.yaml",
    ):
        assert expected in names
    assert "batonflow/__init__.py" not in names
