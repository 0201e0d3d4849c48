"""Image downloads from storage with validators and long-lived caching.

Objects are looked up by id in the DB; the storage key comes from that row,
never from the request, so no request can name a file outside the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from bananabatch.errors import NotFound
from bananabatch.storage.base import Storage
from bananabatch.storage.local import LocalStorage

# `private`: with a password set these answers need credentials, and `public` would let
# a shared cache (a reverse proxy, a CDN) store them and hand them to anyone.
IMMUTABLE = "private, max-age=31536000, immutable"
CHUNK = 256 * 1024


def etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def not_modified(etag: str, cache_control: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control})


def _chunks(storage: Storage, key: str) -> Iterator[bytes]:
    with storage.open(key) as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def stored_file_response(
    request: Request,
    storage: Storage,
    key: str,
    *,
    media_type: str,
    etag: str,
    filename: str | None = None,
) -> Response:
    """Stream one stored object: sendfile for local storage, chunked reads otherwise."""
    if etag_matches(request, etag):
        return not_modified(etag, IMMUTABLE)
    if not storage.exists(key):
        raise NotFound("The image is missing from storage.", details={"key_exists": False})
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if isinstance(storage, LocalStorage):
        return FileResponse(
            storage.path(key),
            media_type=media_type,
            headers=headers,
            filename=filename,
            content_disposition_type="inline",
        )
    headers["Content-Length"] = str(storage.size(key))
    if filename:
        headers["Content-Disposition"] = f"inline; filename*=utf-8''{quote(filename)}"
    return StreamingResponse(_chunks(storage, key), media_type=media_type, headers=headers)
