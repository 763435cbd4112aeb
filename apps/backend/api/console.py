"""The web console at /console and Swagger UI at /docs, both served from files in the repository (`apps/console`:
no CDN, no Node at run time), so they work on a machine with no internet.

The console is a static shell (plain HTML, ES modules, CSS): it holds no data. Every figure it shows comes
from the admin API with the key the operator types in, so without the key a page shows only the sign-in.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

import apps.console

STATIC_DIR = Path(apps.console.__file__).resolve().parent / "static"
SWAGGER_DIR = STATIC_DIR / "vendor" / "swagger-ui"
SWAGGER_UI_VERSION = "5.35.0"
"""The swagger-ui-dist npm package the files in vendor/swagger-ui come from (with its LICENSE and NOTICE)."""

# The console loads nothing from elsewhere and runs no inline script: a strict policy costs it nothing.
# `blob:` for the softphone's audio worklet; ws:/wss: for the live events and voice sockets (same host).
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self' blob:; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
# Swagger UI sets inline styles from its scripts; everything else stays on this host.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
NO_CACHE = {"Cache-Control": "no-cache"}

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} - API docs</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/console/static/js/docs-init.js"></script>
</body>
</html>
"""


class _ConsoleFiles(StaticFiles):
    """Static files with the console's security headers (and revalidation, so an upgrade is seen at once)."""

    def __init__(self, *, directory: Path, csp: str) -> None:
        super().__init__(directory=directory)
        self._csp = csp

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]  # Starlette's own signature
        response = super().file_response(*args, **kwargs)
        response.headers["Content-Security-Policy"] = self._csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.update(NO_CACHE)
        return response


def console_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    async def console_root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    @router.get("/console/")
    async def console_index() -> FileResponse:
        headers = {"Content-Security-Policy": CONSOLE_CSP, "X-Content-Type-Options": "nosniff", **NO_CACHE}
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=headers)

    return router


def add_console(app: FastAPI) -> None:
    """Mount the console (/console) and the offline Swagger UI (/docs; create the app with docs_url=None)."""
    app.include_router(console_router())
    app.mount("/console/static", _ConsoleFiles(directory=STATIC_DIR, csp=CONSOLE_CSP), name="console-static")
    app.mount("/docs/assets", _ConsoleFiles(directory=SWAGGER_DIR, csp=DOCS_CSP), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = DOCS_PAGE.format(title=app.title, openapi_url=openapi_url)
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP, **NO_CACHE})
