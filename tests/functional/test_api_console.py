"""The web console's files through the template's routes and the API function: ``GET /`` and
``GET /console/<name>`` answer without a token (the data calls still need one), with the right content
type, and only for the files of the console folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from batonflow.api.console import CONSOLE_DIR, allowed_files
from tests.support.stack import Harness, moto_harness


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with moto_harness(monkeypatch, parameters={"AuthMode": "KEY"}) as stack:
        yield stack


def test_the_page_and_its_files_are_served_without_a_token(secured: Harness):
    page = secured.api("GET", "/")

    assert page.status == 200
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert page.text == (CONSOLE_DIR / "index.html").read_text()
    assert "default-src 'none'" in page.header("Content-Security-Policy")
    for name, content_type in [("app.js", "text/javascript"), ("style.css", "text/css")]:
        asset = secured.api("GET", f"/console/{name}")
        assert asset.status == 200, name
        assert asset.header("Content-Type") == f"{content_type}; charset=utf-8"
        assert asset.text == (CONSOLE_DIR / name).read_text()
    assert secured.api("GET", "/api/metadata/workflow").status == 401


def test_every_script_the_page_imports_is_served(secured: Harness):
    scripts = [path.name for path in CONSOLE_DIR.glob("*.js")]

    assert {"app.js", "api.js", "graph.js"} <= set(scripts)
    for name in scripts:
        assert secured.api("GET", f"/console/{name}").status == 200, name


@pytest.mark.parametrize(
    "target",
    [
        "/console/nope.js",
        "/console/../api/console.py",
        "/console/..%2Fapi%2Fconsole.py",
        "/console/%2e%2e/%2e%2e/template.yaml",
        "/console/",
        "/console/index.html/",
        "/console/style.css%00.js",
    ],
)
def test_nothing_outside_the_allow_list_is_served(secured: Harness, target: str):
    response = secured.api("GET", target)

    assert response.status == 404, response.text
    assert "text/javascript" not in (response.header("Content-Type") or "")


def test_the_allow_list_is_the_folder_s_files_with_a_known_suffix(tmp_path: Path):
    (tmp_path / "index.html").write_text("<p>")
    (tmp_path / "app.js").write_text("")
    (tmp_path / "LICENSE.txt").write_text("")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "x.js").write_text("")

    assert allowed_files(tmp_path) == {
        "index.html": "text/html; charset=utf-8",
        "app.js": "text/javascript; charset=utf-8",
    }
    assert allowed_files(tmp_path / "missing") == {}


def test_only_get_is_routed(secured: Harness):
    assert secured.api("POST", "/", {}).status == 404
    assert secured.api("DELETE", "/console/app.js").status == 404
