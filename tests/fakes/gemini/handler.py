"""The HTTP side of the fake Gemini server: reads a request, hands it to
`FakeGeminiServer.handle`, writes the JSON or raw reply (keep-alive, optionally paced
line by line like a slow download)."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from tests.fakes.gemini.batch_routes import RawReply
from tests.fakes.gemini.wire import error_body

if TYPE_CHECKING:
    from tests.fakes.gemini.server import FakeGeminiServer

log = logging.getLogger("fake_gemini")


class Handler(BaseHTTPRequestHandler):
    """One connection; `fake` is set on a subclass made per server."""

    fake: FakeGeminiServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; needs Content-Length

    def setup(self) -> None:
        super().setup()
        self.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, add=False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = self.fake.handle(self.command, self.path, headers, raw)
        except Exception:  # a bug in the fake must show up as a 500, not a hung client
            log.exception("fake Gemini failed on %s %s", self.command, self.path)
            reply = error_body(500, "fake server bug; see the test log")
        if not isinstance(reply, RawReply):
            reply = RawReply(reply[0], json.dumps(reply[1]).encode())
        payload = reply.body
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.pace <= 0:
                self.wfile.write(payload)
            for line in payload.splitlines(keepends=True) if reply.pace > 0 else []:
                self.wfile.write(line)
                self.wfile.flush()
                self.fake._sleep(reply.pace)
        except OSError:  # the client gave up (timeout) or the server is stopping
            self.close_connection = True

    do_POST = _serve
    do_GET = _serve
    do_PUT = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)
