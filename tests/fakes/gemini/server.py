"""The fake Gemini REST server: real HTTP on 127.0.0.1, so the real `google-genai`
client reaches it through `HttpOptions(base_url=...)`.

Serves `POST /{v1beta|v1}/models/{model}:generateContent` (see `wire.py` and
`faults.py`), `GET /{version}/models/{model}` and the paged `GET /{version}/models`
(see `models.py`), and the Files and Batch APIs (see `files.py`, `batch.py`,
`batch_routes.py`; `run_batches()` ends due batches at once). Keys are checked on
every route: none -> 403, a key in `bad_api_keys` (or any other key than `expected_api_key`) -> 400 API_KEY_INVALID, a key
in `denied_api_keys` -> 403 PERMISSION_DENIED. Every request is counted per method and
path (`hits`), so tests assert how many calls a feature made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.gemini.batch import BatchControls, BatchStore
from tests.fakes.gemini.batch_routes import Reply
from tests.fakes.gemini.batch_routes import route as batch_route
from tests.fakes.gemini.faults import Fault, Script, faults_from_markers
from tests.fakes.gemini.files import FileStore
from tests.fakes.gemini.handler import Handler
from tests.fakes.gemini.models import (
    DEFAULT_MODELS,
    MODELS_PATH_RE,
    list_page,
    model_resource,
    not_found,
)
from tests.fakes.gemini.render import Answer, render
from tests.fakes.gemini.wire import (
    GENERATE_PATH_RE,
    BadRequest,
    Parsed,
    RecordedRequest,
    error_body,
    first,
    image_size,
    parse_body,
)

log = logging.getLogger("fake_gemini")


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
        handler = type("Handler", (Handler,), {"fake": self})
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

    def run_batches(self) -> list[str]:
        """Run every batch that is neither held nor finished, now, whatever the polls,
        `complete_after` or `manual` say; -> names of the batches that ended."""
        return [b.name for b in self.batches.run_all(self.now(), self.generate_line)]

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

    def calls(
        self,
        *,
        model: str | None = None,
        prompt_contains: str | None = None,
        route: str | None = None,
        status: int | None = None,
    ) -> int:
        """Generations answered: generateContent calls and batch lines, or only one
        `route` ("standard" or "batch"); `status=200` counts only billed answers."""
        return sum(
            1
            for r in self.requests
            if (model is None or r.model == model)
            and (prompt_contains is None or prompt_contains in r.prompt)
            and (route is None or r.route == route)
            and (status is None or r.status == status)
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
        api_key = headers.get("x-goog-api-key") or first(params, "key")
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
        self, model: str, request: dict[str, Any], api_key: str | None, fault: Fault | None = None
    ) -> tuple[int, dict[str, Any], str]:
        """One Batch API line, generated exactly like a `generateContent` call, or with
        `fault` when given (recorded with `route="batch"` and the header
        `x-fake-route: batch`)."""
        try:
            parsed = parse_body("v1beta", model, json.dumps(request).encode())
        except BadRequest as exc:
            status, body = error_body(exc.status, exc.message)
            return status, body, "bad_request"
        status, body, outcome = self._answer(parsed, api_key, fault)
        headers = {"x-fake-route": "batch"}
        self._record(self._recorded(parsed, api_key, status, outcome, headers, route="batch"))
        return status, body, outcome

    @staticmethod
    def _recorded(
        parsed: Parsed,
        api_key: str | None,
        status: int,
        outcome: str,
        headers: dict[str, str],
        route: str = "standard",
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
            route=route,
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
            size = first(params, "pageSize")
            token = first(params, "pageToken")
            return list_page(available, size, token)
        if model_id not in available:
            return not_found(version, model_id)
        return 200, model_resource(model_id)

    def _answer(self, parsed: Parsed, api_key: str | None, fault: Fault | None = None) -> Answer:
        refusal = self._refuse_key(api_key)
        if refusal is not None:
            return refusal
        for mime, data in parsed.references:
            if image_size(data) == (0, 0):
                status, body = error_body(400, f"Unable to process input image ({mime}).")
                return status, body, "bad_reference"

        if fault is None:
            fault = self.script.take(parsed.model)
        if fault is None:
            calls = self._next_marker_call(parsed)
            fault = faults_from_markers(parsed.prompt, calls, self.default_retry_delay)
        self._sleep(self.latency + fault.delay)
        return render(fault, parsed, self.image_long_side)
