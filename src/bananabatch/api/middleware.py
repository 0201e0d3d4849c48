"""Request body size limits, answered with the API's JSON error body.

Multipart uploads stream to disk, so they may be as large as
`BANANABATCH_MAX_UPLOAD_BYTES`. Every other body (JSON) is read whole and then
parsed and validated in memory, which costs many times its size, so it gets a
much smaller limit of its own, `MAX_JSON_BODY_BYTES`.

Checked twice: up front from `Content-Length` (nothing is read), and by counting
the bytes as they stream in, for chunked bodies or a lying header. A body parser
that hits the limit may turn the error into its own answer (FastAPI reports a
form it could not parse as a 400); whatever the app then tries to send is
replaced by the 413, so the client always learns the real reason.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bananabatch.api.errors import error_response
from bananabatch.errors import PayloadTooLarge

log = logging.getLogger(__name__)

TRANSPORT_UPLOAD_PREFIX = "/api/v1/transport/put/"
MAX_JSON_BODY_BYTES = 16 * 1024 * 1024
"""Largest non-multipart body: room for the largest valid job request (an 8 MiB
prompts CSV, 1,000 per-class prompts) with JSON escaping to spare."""


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


def _is_file_body(headers: Headers, path: str) -> bool:
    """Bodies that are files, capped by the upload limit: multipart forms, and the
    images workers PUT to their signed upload URLs (which cap them per image too)."""
    return _is_multipart(headers) or path.startswith(TRANSPORT_UPLOAD_PREFIX)


def _is_multipart(headers: Headers) -> bool:
    content_type = headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int, max_json_bytes: int = MAX_JSON_BODY_BYTES
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_bytes = min(max_json_bytes, max_bytes)

    def _error(self, multipart: bool) -> PayloadTooLarge:
        if multipart:
            return PayloadTooLarge(
                f"The request is larger than this server accepts "
                f"({human_bytes(self.max_bytes)}, BANANABATCH_MAX_UPLOAD_BYTES). "
                "Send fewer files per request or a smaller archive.",
                details={"max_bytes": self.max_bytes},
            )
        return PayloadTooLarge(
            f"The JSON request body is larger than this server accepts "
            f"({human_bytes(self.max_json_bytes)}). Shorten the prompts CSV or the "
            "per-class prompts, or split the work into several jobs.",
            details={"max_bytes": self.max_json_bytes},
        )

    async def _reject(self, scope: Scope, receive: Receive, send: Send, multipart: bool) -> None:
        err = self._error(multipart)
        response = error_response(err.status_code, err.code, err.message, err.details)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = _is_file_body(headers, scope["path"])
        limit = self.max_bytes if multipart else self.max_json_bytes
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            log.info("refused %s %s: Content-Length %s", scope["method"], scope["path"], length)
            await self._reject(scope, receive, send, multipart)
            return

        received = 0
        exceeded = False
        started = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise self._error(multipart)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                if exceeded:
                    replaced = True
                    started = True
                    await self._reject(scope, receive, send, multipart)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLarge:
            if not exceeded or started:
                raise
            log.info("refused %s %s: body over %d bytes", scope["method"], scope["path"], received)
            await self._reject(scope, receive, send, multipart)
