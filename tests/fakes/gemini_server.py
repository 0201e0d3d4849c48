"""A fake Gemini REST server that speaks the real `generateContent` wire protocol.

Real HTTP on 127.0.0.1 (a free port), so the real `google-genai` client reaches it
through `HttpOptions(base_url=...)`. Test infrastructure only, never a product path.

Serves `POST /{v1beta|v1}/models/{model}:generateContent`. Every answer is a real
PNG (a solid colour derived from prompt + seed + model, the size of the first
reference image), with `finishReason` and `usageMetadata`.

Faults are injected two ways:

* programmatically: `server.script.push(Fault.rate_limit(retry_delay="1s"), model=..., times=2)`;
* by markers in the prompt text, for end-to-end runs where a test cannot reach the
  server object (see `MARKERS`).

Use it as the `gemini_fake` pytest fixture, as a context manager
(`with FakeGeminiServer() as srv: srv.base_url`), or from the command line:
`python -m tests.fakes.gemini_server --port 8765`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import io
import json
import logging
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

log = logging.getLogger("fake_gemini")

API_VERSIONS = ("v1beta", "v1")
_PATH_RE = re.compile(r"^/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+):generateContent$")
_MARKER_RE = re.compile(r"\[\[([^\[\]]+)\]\]")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_STATUS_MESSAGES = {
    429: "You exceeded your current quota, please check your plan and billing details.",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}
IMAGE_TOKENS = 1290  # what Gemini 2.5 Flash Image bills per output image
REFERENCE_TOKENS = 258

MARKERS: dict[str, str] = {
    "[[block]] / [[block:REASON]]": "promptFeedback.blockReason (default SAFETY), no candidates",
    "[[finish:REASON]]": "a candidate with finishReason REASON and no content (e.g. IMAGE_SAFETY)",
    "[[image-safety]]": "shorthand for [[finish:IMAGE_SAFETY]]",
    "[[text-only]]": "a text part only, finishReason STOP",
    "[[no-image]]": "finishReason NO_IMAGE with a short text part",
    "[[NNNxK]] / [[NNNxK:DELAY]]": "the first K calls for this prompt+seed fail with HTTP NNN "
    "(429 carries RetryInfo retryDelay DELAY, default the server's), then normal",
    "[[NNN]]": "every call fails with HTTP NNN (e.g. [[400]] for a permanent error)",
    "[[slow:SECONDS]]": "answer after SECONDS",
    "[[thoughts]] / [[thoughts:N]]": "N thought parts (text + draft image, thought=true) first",
    "[[images:N]]": "N image parts; the last one is the final image",
    "[[echo]]": "the first reference image itself, at the asked aspect ratio (a model that kept "
    "the layout); without an aspect ratio, at the reference's size",
    "[[recolour]]": "like [[echo]] with the hues turned a third of the way round (same layout)",
    "[[shift:F]]": "like [[echo]] with the content moved right by F of the width (default 0.15): "
    "a model that moved the layout",
}

FaultKind = Literal["ok", "http_error", "prompt_block", "finish", "text_only", "thoughts", "images"]


@dataclass(frozen=True)
class Fault:
    """One scripted answer shape. `delay` seconds pass before it is sent."""

    kind: FaultKind = "ok"
    delay: float = 0.0
    status: int = 200
    message: str | None = None
    retry_delay: str | None = None
    reason: str | None = None
    text: str | None = None
    count: int = 1

    @classmethod
    def ok(cls, *, delay: float = 0.0) -> Fault:
        return cls("ok", delay=delay)

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """A normal answer, late."""
        return cls("ok", delay=seconds)

    @classmethod
    def rate_limit(cls, retry_delay: str | None = "1s", *, delay: float = 0.0) -> Fault:
        """HTTP 429 RESOURCE_EXHAUSTED; `retry_delay=None` sends no RetryInfo detail."""
        return cls("http_error", status=429, retry_delay=retry_delay, delay=delay)

    @classmethod
    def server_error(cls, status: int = 500, *, delay: float = 0.0) -> Fault:
        return cls("http_error", status=status, delay=delay)

    @classmethod
    def http_error(cls, status: int, message: str | None = None) -> Fault:
        """Any error status, e.g. 400 INVALID_ARGUMENT with a message."""
        return cls("http_error", status=status, message=message)

    @classmethod
    def prompt_blocked(cls, reason: str = "SAFETY", message: str | None = None) -> Fault:
        return cls("prompt_block", reason=reason, message=message)

    @classmethod
    def finish(cls, reason: str = "IMAGE_SAFETY", message: str | None = None) -> Fault:
        """A candidate with this finishReason and no content."""
        return cls("finish", reason=reason, message=message)

    @classmethod
    def text_only(cls, text: str = "I can describe it, but here is no image.") -> Fault:
        return cls("text_only", text=text, reason="STOP")

    @classmethod
    def no_image(cls, text: str = "I could not generate an image.") -> Fault:
        return cls("text_only", text=text, reason="NO_IMAGE")

    @classmethod
    def thoughts(cls, n: int = 1) -> Fault:
        return cls("thoughts", count=n)

    @classmethod
    def images(cls, n: int = 2) -> Fault:
        return cls("images", count=n)


@dataclass
class _Rule:
    fault: Fault
    model: str | None
    remaining: int | None  # None = until cleared


class Script:
    """Queued faults, consumed in order by matching calls (thread-safe)."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def push(self, fault: Fault, *, model: str | None = None, times: int | None = 1) -> None:
        """Answer the next `times` calls (for `model`, or any) with `fault`; None = always."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for always)")
        with self._lock:
            self._rules.append(_Rule(fault, model, times))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> int:
        """Scripted answers still queued (rules with no limit count as one)."""
        with self._lock:
            return sum(r.remaining or 1 for r in self._rules)

    def take(self, model: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.model is not None and rule.model != model:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule.fault
        return None


@dataclass(frozen=True)
class RecordedRequest:
    """What one call sent, for assertions."""

    api_version: str
    model: str
    api_key: str | None
    prompt: str
    seed: int | None
    reference_mime_types: list[str]
    reference_sizes: list[tuple[int, int]]
    reference_sha256: list[str]
    image_config: dict[str, Any] | None
    response_modalities: list[str] | None
    body: dict[str, Any]
    status: int = 0
    outcome: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode_base64(value: str) -> bytes:
    """Standard or URL-safe base64, padded or not (the API accepts both)."""
    cleaned = "".join(value.split())
    cleaned += "=" * (-len(cleaned) % 4)
    alphabet = b"-_" if ("-" in cleaned or "_" in cleaned) else b"+/"
    try:
        return base64.b64decode(cleaned, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _BadRequest(400, f"Invalid value at 'contents[0].parts': {exc}") from exc


def _png(size: tuple[int, int], colour: tuple[int, int, int], meta: dict[str, str]) -> bytes:
    info = PngInfo()
    for key, value in meta.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _content_marker(prompt: str) -> tuple[str, float] | None:
    """([[echo]] | [[recolour]] | [[shift:F]], its number) when the prompt has one."""
    for raw in _MARKER_RE.findall(prompt):
        name, _, arg = raw.strip().partition(":")
        name = name.strip().lower()
        if name in ("echo", "recolour", "recolor"):
            return ("recolour" if name.startswith("recolo") else "echo"), 0.0
        if name == "shift":
            return "shift", float(arg or "0.15")
    return None


def _from_reference(
    data: bytes, size: tuple[int, int], kind: str, amount: float, meta: dict[str, str]
) -> bytes:
    """The reference as a model that kept (or moved) its layout would return it."""
    with Image.open(io.BytesIO(data)) as ref:
        img = ref.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    if kind == "recolour":
        h, s, v = img.convert("HSV").split()
        img = Image.merge("HSV", (h.point(lambda x: (x + 85) % 256), s, v)).convert("RGB")
    elif kind == "shift":
        dx = int(img.width * amount)
        moved = Image.new("RGB", img.size)
        moved.paste(img.crop((0, 0, img.width - dx, img.height)), (dx, 0))
        moved.paste(img.crop((0, 0, 1, img.height)).resize((dx, img.height)), (0, 0))
        img = moved
    info = PngInfo()
    for key, value in meta.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _colour(*parts: object) -> tuple[int, int, int]:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return digest[0], digest[1], digest[2]


def _size_for(aspect_ratio: str | None, long_side: int) -> tuple[int, int]:
    if aspect_ratio:
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$", aspect_ratio)
        if match:
            ratio = float(match.group(1)) / float(match.group(2))
            if ratio >= 1:
                return long_side, max(1, round(long_side / ratio))
            return max(1, round(long_side * ratio)), long_side
    return long_side, long_side


@dataclass
class _Parsed:
    api_version: str
    model: str
    prompt: str
    seed: int | None
    references: list[tuple[str, bytes]]
    image_config: dict[str, Any] | None
    response_modalities: list[str] | None
    body: dict[str, Any]


def _parse_body(version: str, model: str, raw: bytes) -> _Parsed:
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise _BadRequest(400, f"Invalid JSON payload received. {exc}") from exc
    if not isinstance(body, dict):
        raise _BadRequest(400, "Invalid JSON payload received: expected an object.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise _BadRequest(400, "* GenerateContentRequest.contents: contents is not specified")
    texts: list[str] = []
    references: list[tuple[str, bytes]] = []
    for content in contents:
        for part in (content or {}).get("parts") or []:
            if "text" in part:
                texts.append(str(part["text"]))
            inline = part.get("inlineData") or part.get("inline_data")
            if inline is not None:
                mime = inline.get("mimeType") or inline.get("mime_type")
                if not mime:
                    raise _BadRequest(400, "inlineData.mimeType is required")
                if not str(mime).startswith("image/"):
                    raise _BadRequest(400, f"Unsupported MIME type: {mime}")
                references.append((str(mime), decode_base64(str(inline.get("data", "")))))
    gen = body.get("generationConfig") or body.get("generation_config") or {}
    image_config = gen.get("imageConfig") or gen.get("image_config")
    modalities = gen.get("responseModalities") or gen.get("response_modalities")
    seed = gen.get("seed")
    return _Parsed(
        api_version=version,
        model=model,
        prompt="\n".join(texts),
        seed=int(seed) if seed is not None else None,
        references=references,
        image_config=image_config,
        response_modalities=list(modalities) if modalities else None,
        body=body,
    )


def faults_from_markers(prompt: str, calls_so_far: int, default_retry_delay: str) -> Fault:
    """The answer the prompt's markers ask for, given how many calls this prompt+seed saw."""
    delay = 0.0
    answer: Fault | None = None
    success = Fault.ok()
    for raw in _MARKER_RE.findall(prompt):
        marker = raw.strip()
        name, _, arg = marker.partition(":")
        name = name.strip().lower()
        arg = arg.strip()
        count = re.fullmatch(r"(\d{3})(?:x(\d+))?", name)
        if count:
            status, limit = int(count.group(1)), count.group(2)
            if answer is None and (limit is None or calls_so_far < int(limit)):
                retry = (arg or default_retry_delay) if status == 429 else None
                answer = Fault("http_error", status=status, retry_delay=retry)
        elif name == "slow":
            delay += float(arg or "1")
        elif name == "block":
            answer = answer or Fault.prompt_blocked((arg or "SAFETY").upper())
        elif name == "finish":
            answer = answer or Fault.finish((arg or "IMAGE_SAFETY").upper())
        elif name == "image-safety":
            answer = answer or Fault.finish("IMAGE_SAFETY")
        elif name == "text-only":
            answer = answer or Fault.text_only()
        elif name == "no-image":
            answer = answer or Fault.no_image()
        elif name == "thoughts":
            success = Fault.thoughts(int(arg or "1"))
        elif name == "images":
            success = Fault.images(int(arg or "2"))
    return replace(answer or success, delay=delay)


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
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.default_retry_delay = default_retry_delay
        self.expected_api_key = expected_api_key
        self.image_long_side = image_long_side
        self.script = Script()
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

    def reset(self) -> None:
        """Forget scripted faults, recorded requests and marker counters."""
        self.script.clear()
        with self._lock:
            self._records.clear()
            self._marker_calls.clear()
            self.max_in_flight = 0

    # -------------------------------------------------------- assertions ----

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

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

    def _next_marker_call(self, parsed: _Parsed) -> int:
        key = (parsed.prompt, parsed.seed)
        with self._lock:
            seen = self._marker_calls.get(key, 0)
            self._marker_calls[key] = seen + 1
        return seen

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        """One HTTP exchange -> (status, JSON body). Runs on a handler thread."""
        route = path.split("?", 1)[0]
        match = _PATH_RE.match(route)
        if method != "POST" or match is None:
            return _error(404, f"Method or path not found: {method} {route}")
        api_key = headers.get("x-goog-api-key")
        if not api_key:
            query_key = re.search(r"[?&]key=([^&]+)", path)
            api_key = query_key.group(1) if query_key else None
        try:
            parsed = _parse_body(match.group("version"), match.group("model"), raw)
        except _BadRequest as exc:
            return _error(exc.status, exc.message)

        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            status, body, outcome = self._answer(parsed, api_key)
        finally:
            with self._lock:
                self._in_flight -= 1
        self._record(
            RecordedRequest(
                api_version=parsed.api_version,
                model=parsed.model,
                api_key=api_key,
                prompt=parsed.prompt,
                seed=parsed.seed,
                reference_mime_types=[mime for mime, _ in parsed.references],
                reference_sizes=[_image_size(data) for _, data in parsed.references],
                reference_sha256=[
                    hashlib.sha256(data).hexdigest() for _, data in parsed.references
                ],
                image_config=parsed.image_config,
                response_modalities=parsed.response_modalities,
                body=parsed.body,
                status=status,
                outcome=outcome,
                headers=dict(headers),
            )
        )
        return status, body

    def _answer(self, parsed: _Parsed, api_key: str | None) -> tuple[int, dict[str, Any], str]:
        if not api_key:
            status, body = _error(
                403, "Method doesn't allow unregistered callers. Please use an API key."
            )
            return status, body, "no_api_key"
        if self.expected_api_key is not None and api_key != self.expected_api_key:
            status, body = _error(
                400, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID"
            )
            return status, body, "bad_api_key"
        for mime, data in parsed.references:
            if _image_size(data) == (0, 0):
                status, body = _error(400, f"Unable to process input image ({mime}).")
                return status, body, "bad_reference"

        fault = self.script.take(parsed.model)
        if fault is None:
            calls = self._next_marker_call(parsed)
            fault = faults_from_markers(parsed.prompt, calls, self.default_retry_delay)
        self._sleep(self.latency + fault.delay)
        return self._render(fault, parsed)

    def _render(self, fault: Fault, parsed: _Parsed) -> tuple[int, dict[str, Any], str]:
        prompt_tokens = max(1, len(parsed.prompt.split())) + REFERENCE_TOKENS * len(
            parsed.references
        )
        if fault.kind == "http_error":
            status, body = _error(fault.status, fault.message, retry_delay=fault.retry_delay)
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
            return 200, _response(parsed, [candidate], prompt_tokens, 0), f"finish_{fault.reason}"
        if fault.kind == "text_only":
            candidate = {
                "content": {"role": "model", "parts": [{"text": fault.text or ""}]},
                "finishReason": fault.reason or "STOP",
                "index": 0,
            }
            return 200, _response(parsed, [candidate], prompt_tokens, 12), "text_only"

        content = _content_marker(parsed.prompt) if parsed.references else None
        size = self._content_size(parsed) if content else self._output_size(parsed)
        parts: list[dict[str, Any]] = []
        thoughts = fault.count if fault.kind == "thoughts" else 0
        finals = fault.count if fault.kind == "images" else 1
        for i in range(thoughts):
            parts.append({"text": f"Drafting composition {i + 1}.", "thought": True})
            draft = _png(size, (128, 128, 128), {"fake-gemini": f"thought {i + 1}"})
            parts.append(_image_part(draft) | {"thought": True})
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
                made = _from_reference(parsed.references[0][1], size, kind, amount, meta)
                parts.append(_image_part(made))
                continue
            colour = _colour(parsed.model, parsed.prompt, parsed.seed, i)
            parts.append(_image_part(_png(size, colour, meta)))
        candidate = {
            "content": {"role": "model", "parts": parts},
            "finishReason": "STOP",
            "index": 0,
        }
        body = _response(parsed, [candidate], prompt_tokens, IMAGE_TOKENS * finals, thoughts * 40)
        return 200, body, "image"

    def _content_size(self, parsed: _Parsed) -> tuple[int, int]:
        """The asked aspect ratio at the server's resolution, like a real model; the
        reference's size when no ratio was asked."""
        aspect = (parsed.image_config or {}).get("aspectRatio") or (parsed.image_config or {}).get(
            "aspect_ratio"
        )
        if aspect:
            return _size_for(aspect, self.image_long_side)
        return _image_size(parsed.references[0][1])

    def _output_size(self, parsed: _Parsed) -> tuple[int, int]:
        for _, data in parsed.references:
            size = _image_size(data)
            if size != (0, 0):
                return size
        aspect = (parsed.image_config or {}).get("aspectRatio") or (parsed.image_config or {}).get(
            "aspect_ratio"
        )
        return _size_for(aspect, self.image_long_side)


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return (0, 0)


def _image_part(png: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}}


def _response(
    parsed: _Parsed,
    candidates: list[dict[str, Any]],
    prompt_tokens: int,
    candidate_tokens: int,
    thought_tokens: int = 0,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": candidate_tokens,
        "totalTokenCount": prompt_tokens + candidate_tokens + thought_tokens,
    }
    if thought_tokens:
        usage["thoughtsTokenCount"] = thought_tokens
    digest = hashlib.sha256(f"{parsed.prompt}|{parsed.seed}|{time.time_ns()}".encode())
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": parsed.model,
        "responseId": digest.hexdigest()[:22],
    }


def _error(
    status: int,
    message: str | None = None,
    *,
    retry_delay: str | None = None,
    reason: str | None = None,
) -> tuple[int, dict[str, Any]]:
    status_name = _STATUS_NAMES.get(status, "UNKNOWN")
    details: list[dict[str, Any]] = []
    if status == 429:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            }
        )
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            }
        )
        if retry_delay is not None:
            details.append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
            )
    if reason is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        )
    error: dict[str, Any] = {
        "code": status,
        "message": message or _STATUS_MESSAGES.get(status, f"fake error {status}"),
        "status": status_name,
    }
    if details:
        error["details"] = details
    return status, {"error": error}


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
            status, body = self.fake.handle(self.command, self.path, headers, raw)
        except Exception:  # a bug in the fake must show up as a 500, not a hung client
            log.exception("fake Gemini failed on %s %s", self.command, self.path)
            status, body = _error(500, "fake server bug; see the test log")
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (timeout) or the server is stopping
            self.close_connection = True

    do_POST = _serve
    do_GET = _serve
    do_PUT = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


# ------------------------------------------------------------ pytest plugin ----


@pytest.fixture
def gemini_fake() -> Iterator[FakeGeminiServer]:
    """A running fake Gemini server, stopped after the test."""
    with FakeGeminiServer(default_retry_delay="0.05s") as server:
        yield server


@pytest.fixture
def gemini_env(gemini_fake: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> FakeGeminiServer:
    """Points GEMINI_API_KEY / BANANABATCH_GEMINI_BASE_URL at the fake (subprocesses too)."""
    monkeypatch.setenv("GEMINI_API_KEY", "fake-gemini-key")
    monkeypatch.setenv("BANANABATCH_GEMINI_BASE_URL", gemini_fake.base_url)
    return gemini_fake


# ---------------------------------------------------------------- command ----


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake Gemini REST server for manual runs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    parser.add_argument("--retry-delay", default="1s", help="RetryInfo delay for [[429xK]]")
    parser.add_argument("--api-key", default=None, help="reject other keys with 400")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = FakeGeminiServer(
        host=args.host,
        port=args.port,
        latency=args.latency,
        default_retry_delay=args.retry_delay,
        expected_api_key=args.api_key,
    )
    with server:
        log.info(
            "set BANANABATCH_GEMINI_BASE_URL=%s and any GEMINI_API_KEY; Ctrl-C stops",
            server.base_url,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    log.info("fake Gemini stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
