"""The web console's static files: ``GET /`` is its page, ``GET /console/<name>`` its scripts and styles.

The API function serves them itself, so the console comes with every stack (``baton up`` and AWS alike)
and reads its data from the same origin's ``/api``. Only the files found in ``batonflow/console/`` when
the function loads can be served, looked up by exact name in that allow-list: a request path is never
joined to a file system path, so ``..``, encoded slashes and the like match nothing and answer 404.

The files are read on first request, not at import, to keep the function's cold start as it was.
They carry no token check (``batonflow.api.auth.is_open_path``): they are the same for everyone, and the
page asks for a token only when ``/api`` answers 401.
"""

from __future__ import annotations

import functools
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from batonflow.errors import NotFoundError

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
CONSOLE_PREFIX = "/console/"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
"""Suffixes that are served, and how; any other file in the folder (a licence, a README) is not."""
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""Everything comes from this origin; revalidate on every load so a redeploy shows at once."""


def allowed_files(folder: Path = CONSOLE_DIR) -> dict[str, str]:
    """Servable file name -> content type: the folder's files with a known suffix (not its subfolders)."""
    if not folder.is_dir():
        return {}
    return {
        entry.name: CONTENT_TYPES[entry.suffix]
        for entry in folder.iterdir()
        if entry.is_file() and entry.suffix in CONTENT_TYPES
    }


def console_router(folder: Path = CONSOLE_DIR) -> Router:
    """Routes serving the allow-listed files of ``folder`` (see the module docstring)."""
    allowed = allowed_files(folder)
    router = Router()

    @functools.cache
    def read(name: str) -> str:
        return (folder / name).read_text(encoding="utf-8")

    def serve(name: str) -> Response:
        content_type = allowed.get(name)
        if content_type is None:
            raise NotFoundError(f"No console file {name!r}")
        return Response(status_code=200, content_type=content_type, body=read(name), headers=SECURITY_HEADERS)

    @router.get("/")
    def index() -> Response:
        return serve(INDEX)

    @router.get(f"{CONSOLE_PREFIX}<name>")
    def asset(name: str) -> Response:
        return serve(name)

    return router
