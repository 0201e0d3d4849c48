"""The built web UI (Next.js static export with `trailingSlash`) served at `/`.

Resolution for a GET: the file itself, `<path>/index.html`, `<path>.html`, then
`404.html` (status 404) or `index.html` for an unknown page, so a reload on a
client-side route still loads the app. `/api/...` never falls back to HTML: an
unknown API path is a JSON 404. A request path is never joined to the web root
without checking that the result stays inside it.
"""

from __future__ import annotations

import logging
import os
import stat
from email.utils import parsedate_to_datetime
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

import bananabatch
from bananabatch.api.errors import error_response
from bananabatch.config import Settings

log = logging.getLogger(__name__)

_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"


def packaged_web_dir() -> Path:
    """`bananabatch/webui` inside an installed wheel (`make dist` puts the UI there)."""
    return Path(bananabatch.__file__).resolve().parent / "webui"


def default_web_dir() -> Path:
    """`<repo>/web/out` for a source checkout (src/bananabatch/__init__.py -> repo)."""
    return Path(bananabatch.__file__).resolve().parents[2] / "web" / "out"


def resolve_web_dir(settings: Settings) -> Path | None:
    """`BANANABATCH_WEB_DIR` when set (and only it), else the UI packaged in the wheel,
    else the checkout's `web/out`."""
    if settings.web_dir is not None:
        if settings.web_dir.is_dir():
            return settings.web_dir.resolve()
        log.warning("BANANABATCH_WEB_DIR=%s is not a directory; no web UI", settings.web_dir)
        return None
    for candidate in (packaged_web_dir(), default_web_dir()):
        if (candidate / "index.html").is_file():
            return candidate.resolve()
    return None


class StaticUI:
    """The router's fallback app: the web UI directory with client-side route fallback,
    or (`root` None, no build) a JSON 404 that says how to build it."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.resolve() if root is not None else Path()
        self.enabled = root is not None

    def _inside(self, rel: str) -> Path | None:
        if "\x00" in rel or "\\" in rel:
            return None
        parts = [p for p in rel.split("/") if p]
        if any(p in (".", "..") for p in parts):
            return None
        path = self.root.joinpath(*parts) if parts else self.root
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):
            return None
        return resolved if resolved.is_relative_to(self.root) else None

    def _file(self, rel: str) -> Path | None:
        path = self._inside(rel)
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if stat.S_ISREG(st.st_mode):
            return path
        return None

    def lookup(self, url_path: str) -> tuple[Path | None, int]:
        """The file for a URL path and the status to answer with."""
        rel = url_path.lstrip("/")
        base = rel.rstrip("/")
        candidates = [base] if base and not rel.endswith("/") else []
        candidates.append(f"{base}/index.html" if base else "index.html")
        if base:
            candidates.append(f"{base}.html")
        for candidate in candidates:
            found = self._file(candidate)
            if found is not None:
                return found, 200
        fallback_404 = self._file("404.html")
        if fallback_404 is not None:
            return fallback_404, 404
        last = base.rsplit("/", 1)[-1]
        if "." in last:  # a missing asset, not a page
            return None, 404
        return self._file("index.html"), 200

    def _cache_control(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return _IMMUTABLE if rel.startswith("_next/static/") else _REVALIDATE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        path: str = scope["path"]
        if path == "/api" or path.startswith("/api/"):
            response: Response = error_response(
                404, "not_found", f"No API route {scope['method']} {path}."
            )
            await response(scope, receive, send)
            return
        if not self.enabled:
            response = error_response(
                404,
                "web_ui_not_built",
                "The web UI is not built (run `make web`); the API is at /api/v1/docs.",
            )
            await response(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            response = error_response(
                405, "method_not_allowed", "The web UI only answers GET and HEAD."
            )
            response.headers["Allow"] = "GET, HEAD"
            await response(scope, receive, send)
            return
        file_path, status = self.lookup(path)
        if file_path is None:
            response = error_response(404, "not_found", f"No such file: {path}")
            await response(scope, receive, send)
            return
        st = os.stat(file_path)
        response = FileResponse(
            file_path,
            status_code=status,
            stat_result=st,
            headers={"Cache-Control": self._cache_control(file_path)},
        )
        if status == 200 and _not_modified(Headers(scope=scope), response.headers):
            response = Response(
                status_code=304,
                headers={
                    k: v
                    for k, v in response.headers.items()
                    if k in ("etag", "cache-control", "last-modified")
                },
            )
        await response(scope, receive, send)


def _not_modified(request: Headers, response: Headers) -> bool:
    etag = response.get("etag")
    inm = request.get("if-none-match")
    if inm is not None and etag is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag.removeprefix("W/") in tags
    ims = request.get("if-modified-since")
    lm = response.get("last-modified")
    if ims and lm:
        try:
            return parsedate_to_datetime(lm) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False
