"""The fake Gemini REST server: real HTTP on 127.0.0.1, so the real `google-genai`
client reaches it through `HttpOptions(base_url=...)`.

Serves `POST /{v1beta|v1}/models/{model}:generateContent` (see `wire.py` and
`faults.py`), `GET /{version}/models/{model}` and the paged `GET /{version}/models`
(see `models.py`). Keys are checked on every route: none -> 403, a key in
`bad_api_keys` (or any other key than `expected_api_key`) -> 400 API_KEY_INVALID, a key
in `denied_api_keys` -> 403 PERMISSION_DENIED. Every request is counted per method and
path (`hits`), so tests assert how many calls a feature made.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.gemini.batch import BatchControls, BatchStore
from tests.fakes.gemini.batch_routes import RawReply, Reply
from tests.fakes.gemini.batch_routes import route as batch_route
from tests.fakes.gemini.content import content_marker, from_reference
from tests.fakes.gemini.faults import Fault, Script, faults_from_markers
from tests.fakes.gemini.files import FileStore
from tests.fakes.gemini.models import (
    DEFAULT_MODELS,
    MODELS_PATH_RE,
    list_page,
    model_resource,
    not_found,
)
from tests.fakes.gemini.wire import (
    GENERATE_PATH_RE,
    REFERENCE_TOKENS,
    BadRequest,
    Parsed,
    RecordedRequest,
    colour,
    error_body,
    image_part,
    image_size,
    image_tokens,
    parse_body,
    png,
    response_body,
    size_for,
)

log = logging.getLogger("fake_gemini")
Answer = tuple[int, dict[str, Any], str]


class FakeGeminiServer:
    """The fake server. Thread-based: start/stop from any thread, or use `with`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        default_retry_delay: str = "1s",
        expected_api_key: str | None = None,
        image_long_side: int = 256,
        bad_api_keys: Iterable[str] = (),
        denied_api_keys: Iterable[str] = (),
        available_models: Iterable[str] = DEFAULT_MODELS,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.default_retry_delay = default_retry_delay
        self.expected_api_key = expected_api_key
        self.image_long_side = image_long_side
        self.bad_api_keys = set(bad_api_keys)
        self.denied_api_keys = set(denied_api_keys)
        self.available_models: list[str] = list(available_models)
        """What `GET models/{id}` finds and `GET models` lists (generateContent ignores it)."""
        self.script = Script()
        self._hits: Counter[str] = Counter()
        self._records: list[RecordedRequest] = []
        self._marker_calls: dict[tuple[str, int | None], int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._in_flight = 0
        self.max_in_flight = 0
        """The most generateContent calls the server was answering at once."""
        self.files = FileStore()
        self.batch_controls = BatchControls()
        self.batches = BatchStore(self.files, self.batch_controls)
        self.downloads = 0
        """Result-file downloads asked for (answered or failed)."""
        self._clock_offset = timedelta(0)

    # ---------------------------------------------------------- lifecycle ----

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake Gemini server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeGeminiServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"fake": self})
        httpd = ThreadingHTTPServer((self.host, self.port), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-gemini:{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("fake Gemini listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on injected latency
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would linger otherwise
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> FakeGeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> datetime:
        """The fake's clock (Files expire after 48 h of it); `advance` moves it."""
        return datetime.now(UTC) + self._clock_offset

    def advance(self, delta: timedelta) -> None:
        self._clock_offset += delta

    def reset(self) -> None:
        """Forget scripted faults, recorded requests, marker counters, files and batches."""
        self.script.clear()
        self.files.clear()
        self.batches.clear()
        self.downloads = 0
        with self._lock:
            self._records.clear()
            self._marker_calls.clear()
            self._hits.clear()
            self.max_in_flight = 0

    # -------------------------------------------------------- assertions ----

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def hits(self, path_contains: str = "", *, method: str | None = None) -> int:
        """Requests of any kind whose path (no query) contains `path_contains`, e.g.
        `hits("/models/gemini-x", method="GET")`; `hits()` counts every request."""
        with self._lock:
            return sum(
                n
                for key, n in self._hits.items()
                if path_contains in key.split(" ", 1)[1]
                and (method is None or key.startswith(f"{method} "))
            )

    @property
    def path_counts(self) -> dict[str, int]:
        """`{"GET /v1beta/models/x": 1, ...}`: every request so far, by method and path."""
        with self._lock:
            return dict(self._hits)

    def calls(self, *, model: str | None = None, prompt_contains: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (model is None or r.model == model)
            and (prompt_contains is None or prompt_contains in r.prompt)
        )

    # ---------------------------------------------------------- handling ----

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    def _next_marker_call(self, parsed: Parsed) -> int:
        key = (parsed.prompt, parsed.seed)
        with self._lock:
            seen = self._marker_calls.get(key, 0)
            self._marker_calls[key] = seen + 1
        return seen

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """One HTTP exchange -> (status, JSON body) or a raw reply. Runs on a handler thread."""
        route, _, query = path.partition("?")
        with self._lock:
            self._hits[f"{method} {route}"] += 1
        params = parse_qs(query)
        api_key = headers.get("x-goog-api-key") or (params.get("key") or [None])[0]
        models_route = MODELS_PATH_RE.match(route)
        if method == "GET" and models_route is not None:
            refusal = self._refuse_key(api_key)
            if refusal is not None:
                return refusal[0], refusal[1]
            return self._models(models_route.group("version"), models_route.group("model"), params)
        batch_reply = batch_route(self, method, route, params, headers, raw, api_key)
        if batch_reply is not None:
            return batch_reply
        match = GENERATE_PATH_RE.match(route)
        if method != "POST" or match is None:
            return error_body(404, f"Method or path not found: {method} {route}")
        try:
            parsed = parse_body(match.group("version"), match.group("model"), raw)
        except BadRequest as exc:
            return error_body(exc.status, exc.message)

        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            status, body, outcome = self._answer(parsed, api_key)
        finally:
            with self._lock:
                self._in_flight -= 1
        self._record(self._recorded(parsed, api_key, status, outcome, dict(headers)))
        return status, body

    def generate_line(
        self, model: str, request: dict[str, Any], api_key: str | None
    ) -> tuple[int, dict[str, Any], str]:
        """One Batch API line, generated exactly like a `generateContent` call (and
        recorded with the header `x-fake-route: batch`)."""
        try:
            parsed = parse_body("v1beta", model, json.dumps(request).encode())
        except BadRequest as exc:
            status, body = error_body(exc.status, exc.message)
            return status, body, "bad_request"
        status, body, outcome = self._answer(parsed, api_key)
        self._record(self._recorded(parsed, api_key, status, outcome, {"x-fake-route": "batch"}))
        return status, body, outcome

    @staticmethod
    def _recorded(
        parsed: Parsed, api_key: str | None, status: int, outcome: str, headers: dict[str, str]
    ) -> RecordedRequest:
        return RecordedRequest(
            api_version=parsed.api_version,
            model=parsed.model,
            api_key=api_key,
            prompt=parsed.prompt,
            seed=parsed.seed,
            reference_mime_types=[mime for mime, _ in parsed.references],
            reference_sizes=[image_size(data) for _, data in parsed.references],
            reference_sha256=[hashlib.sha256(data).hexdigest() for _, data in parsed.references],
            image_config=parsed.image_config,
            response_modalities=parsed.response_modalities,
            body=parsed.body,
            status=status,
            outcome=outcome,
            headers=headers,
        )

    def _refuse_key(self, api_key: str | None) -> Answer | None:
        """Google's answer to a missing, invalid or blocked key; None for a good key."""
        if not api_key:
            status, body = error_body(
                403, "Method doesn't allow unregistered callers. Please use an API key."
            )
            return status, body, "no_api_key"
        if api_key in self.denied_api_keys:
            status, body = error_body(
                403, "Permission denied: this API key cannot call the Gemini API.",
                reason="API_KEY_SERVICE_BLOCKED",
            )  # fmt: skip
            return status, body, "denied_api_key"
        if api_key in self.bad_api_keys or (
            self.expected_api_key is not None and api_key != self.expected_api_key
        ):
            status, body = error_body(
                400, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID"
            )
            return status, body, "bad_api_key"
        return None

    def _models(
        self, version: str, model_id: str | None, params: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        available = list(self.available_models)
        if model_id is None:
            size = (params.get("pageSize") or [None])[0]
            token = (params.get("pageToken") or [None])[0]
            return list_page(available, size, token)
        if model_id not in available:
            return not_found(version, model_id)
        return 200, model_resource(model_id)

    def _answer(self, parsed: Parsed, api_key: str | None) -> Answer:
        refusal = self._refuse_key(api_key)
        if refusal is not None:
            return refusal
        for mime, data in parsed.references:
            if image_size(data) == (0, 0):
                status, body = error_body(400, f"Unable to process input image ({mime}).")
                return status, body, "bad_reference"

        fault = self.script.take(parsed.model)
        if fault is None:
            calls = self._next_marker_call(parsed)
            fault = faults_from_markers(parsed.prompt, calls, self.default_retry_delay)
        self._sleep(self.latency + fault.delay)
        return self._render(fault, parsed)

    def _render(self, fault: Fault, parsed: Parsed) -> Answer:
        prompt_tokens = max(1, len(parsed.prompt.split())) + REFERENCE_TOKENS * len(
            parsed.references
        )
        if fault.kind == "http_error":
            status, body = error_body(fault.status, fault.message, retry_delay=fault.retry_delay)
            return status, body, f"http_{fault.status}"
        if fault.kind == "prompt_block":
            feedback: dict[str, Any] = {"blockReason": fault.reason or "SAFETY"}
            if fault.message:
                feedback["blockReasonMessage"] = fault.message
            body = {
                "promptFeedback": feedback,
                "usageMetadata": {
                    "promptTokenCount": prompt_tokens,
                    "totalTokenCount": prompt_tokens,
                },
                "modelVersion": parsed.model,
            }
            return 200, body, "prompt_blocked"
        if fault.kind == "finish":
            candidate: dict[str, Any] = {"finishReason": fault.reason, "index": 0}
            if fault.message:
                candidate["finishMessage"] = fault.message
            return (
                200,
                response_body(parsed, [candidate], prompt_tokens, 0),
                f"finish_{fault.reason}",
            )
        if fault.kind == "text_only":
            candidate = {
                "content": {"role": "model", "parts": [{"text": fault.text or ""}]},
                "finishReason": fault.reason or "STOP",
                "index": 0,
            }
            return 200, response_body(parsed, [candidate], prompt_tokens, 12), "text_only"

        content = content_marker(parsed.prompt) if parsed.references else None
        size = self._content_size(parsed) if content else self._output_size(parsed)
        parts: list[dict[str, Any]] = []
        thoughts = fault.count if fault.kind == "thoughts" else 0
        finals = fault.count if fault.kind == "images" else 1
        for i in range(thoughts):
            parts.append({"text": f"Drafting composition {i + 1}.", "thought": True})
            draft = png(size, (128, 128, 128), {"fake-gemini": f"thought {i + 1}"})
            parts.append(image_part(draft) | {"thought": True})
        # real answers from thinking models sign the first non-thought part
        signature = base64.b64encode(hashlib.sha256(parsed.prompt.encode()).digest()).decode()
        parts.append({"text": "Here is your image.", "thoughtSignature": signature})
        for i in range(finals):
            meta = {
                "fake-gemini": "final" if i == finals - 1 else f"image {i + 1}",
                "model": parsed.model,
                "seed": str(parsed.seed),
                "prompt-sha256": hashlib.sha256(parsed.prompt.encode()).hexdigest(),
            }
            if content is not None:
                kind, amount = content
                made = from_reference(parsed.references[0][1], size, kind, amount, meta)
                parts.append(image_part(made))
                continue
            fill = colour(parsed.model, parsed.prompt, parsed.seed, i)
            parts.append(image_part(png(size, fill, meta)))
        candidate = {
            "content": {"role": "model", "parts": parts},
            "finishReason": "STOP",
            "index": 0,
        }
        body = response_body(
            parsed,
            [candidate],
            prompt_tokens,
            image_tokens(parsed.model, parsed.image_config) * finals,
            thoughts * 40,
        )
        return 200, body, "image"

    def _content_size(self, parsed: Parsed) -> tuple[int, int]:
        """The asked aspect ratio at the server's resolution, like a real model; the
        reference's size when no ratio was asked."""
        config = parsed.image_config or {}
        aspect = config.get("aspectRatio") or config.get("aspect_ratio")
        if aspect:
            return size_for(aspect, self.image_long_side)
        return image_size(parsed.references[0][1])

    def _output_size(self, parsed: Parsed) -> tuple[int, int]:
        for _, data in parsed.references:
            size = image_size(data)
            if size != (0, 0):
                return size
        aspect = (parsed.image_config or {}).get("aspectRatio") or (parsed.image_config or {}).get(
            "aspect_ratio"
        )
        return size_for(aspect, self.image_long_side)


class _Handler(BaseHTTPRequestHandler):
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
