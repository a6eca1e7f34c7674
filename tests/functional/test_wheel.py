"""The wheel holds all four portions of the ``batonflow`` namespace, the template and the web console's
static files, and no ``batonflow/__init__.py`` (which would hide every portion but one)."""

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
        "batonflow/api/console.py",
    ):
        assert expected in names
    console = ROOT / "functions" / "batonflow" / "console"
    shipped = {name for name in names if name.startswith("batonflow/console/")}
    assert shipped == {f"batonflow/console/{path.name}" for path in console.iterdir() if path.is_file()}
    assert {f"batonflow/console/{name}" for name in ("index.html", "app.js", "style.css")} <= shipped
    assert "batonflow/__init__.py" not in names
