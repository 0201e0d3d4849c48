"""Preflight: one cheap call proving the Gemini key works and can use a model,
before a job spends anything.

`models.get` is a free metadata GET: Google answers 400 API_KEY_INVALID, 401 or 403
for a bad key and 404 for a model this key cannot use, and job creation then fails
with a clear 4xx before any generation call. Verdicts are cached per key+model for a
few minutes (success and refusal alike), so an estimate followed by a create, or a
burst of jobs, costs one call, and concurrent checks of the same model share it.

When Google cannot be reached (timeout, connection error, 5xx, 429) the check is
inconclusive: the caller gets a warning and goes on (generation retries on its own
with backoff), and that verdict is kept only briefly so the next job asks again.
The key is never logged; logs and cache keys carry a short hash of it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeVar, cast

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from bananabatch.config import Settings
from bananabatch.errors import GeminiKeyInvalid, ModelUnavailable

log = logging.getLogger(__name__)

AccessState = Literal[
    "ok", "key_invalid", "model_unavailable", "unreachable", "not_configured", "skipped"
]
GENERATE_METHOD = "generateContent"
DEFAULT_TTL_SECONDS = 300.0
RETRY_TTL_SECONDS = 30.0
"""How long an inconclusive verdict (Google unreachable) is kept."""
DEFAULT_TIMEOUT_SECONDS = 10.0
_LIST_PAGE_SIZE = 100
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})

T = TypeVar("T")


@dataclass(frozen=True)
class ModelAccess:
    """Whether the configured key can use one model, and why not."""

    model: str
    state: AccessState
    message: str = ""


@dataclass(frozen=True)
class KeyAccess:
    """The key's state and the models it lists (ids without `models/`)."""

    state: AccessState
    message: str = ""
    models: frozenset[str] = frozenset()
    checked_at: datetime | None = None


@dataclass
class _Entry:
    value: object
    expires_at: float


def _reasons(details: object) -> set[str]:
    """`ErrorInfo.reason` values of a Google error body, wherever they sit."""
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    inner = details.get("error", details) if isinstance(details, dict) else None
    entries = inner.get("details") if isinstance(inner, dict) else None
    if not isinstance(entries, list):
        return set()
    return {str(e["reason"]) for e in entries if isinstance(e, dict) and e.get("reason")}


def classify(exc: BaseException) -> tuple[AccessState, str]:
    """A failed `models.get`/`models.list` -> (state, what Google said)."""
    if isinstance(exc, genai_errors.APIError):
        code = int(exc.code or 0)
        said = f"{code} {exc.status or ''}".strip() + (f": {exc.message}" if exc.message else "")
        key_reason = bool(_reasons(exc.details) & _KEY_REASONS)
        if code in (401, 403) or key_reason or (code == 400 and "api key" in said.lower()):
            return "key_invalid", said
        if code == 404:
            return "model_unavailable", said
        return "unreachable", said  # 429, 5xx, anything else: inconclusive
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return "unreachable", detail


@dataclass
class GeminiPreflight:
    """Cached access checks against the Gemini API with the official SDK (sync client:
    the job service runs in worker threads and in the CLI, never on the event loop)."""

    api_key: str | None = field(repr=False)
    base_url: str | None = None
    api_version: str = "v1beta"
    enabled: bool = True
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ttl_seconds: float = DEFAULT_TTL_SECONDS
    retry_ttl_seconds: float = RETRY_TTL_SECONDS
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _flights: dict[tuple[str, ...], threading.Lock] = field(
        default_factory=dict, init=False, repr=False
    )
    _cache: dict[tuple[str, ...], _Entry] = field(default_factory=dict, init=False, repr=False)
    _client: genai.Client | None = field(default=None, init=False, repr=False)
    key_hash: str = field(default="", init=False)
    """Identifies the key in logs and cache keys; reveals nothing about it."""

    def __post_init__(self) -> None:
        self.api_key = (self.api_key or "").strip() or None
        self.key_hash = hashlib.sha256((self.api_key or "").encode()).hexdigest()[:12]

    @classmethod
    def from_settings(cls, settings: Settings) -> GeminiPreflight:
        key = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else None
        return cls(
            api_key=key,
            base_url=settings.gemini_base_url or None,
            api_version=settings.gemini_api_version,
            enabled=settings.gemini_preflight,
            ttl_seconds=settings.gemini_preflight_ttl_seconds,
        )

    # ---- checks --------------------------------------------------------------------------

    def check_model(self, model_id: str) -> ModelAccess:
        """Can the key use `model_id`? One `models.get` per key+model per TTL."""
        if not self.api_key:
            return ModelAccess(model_id, "not_configured", "No Gemini API key is configured.")
        if not self.enabled:
            return ModelAccess(model_id, "skipped")
        return self._cached(("model", self.key_hash, model_id), lambda: self._get(model_id))

    def key_access(self, image_models: Iterable[str]) -> KeyAccess:
        """The key's state and which of `image_models` it can use (one paged
        `models.list` per TTL), for the health answer and the status page."""
        if not self.api_key:
            return KeyAccess("not_configured", "No Gemini API key is configured.")
        if not self.enabled:
            return KeyAccess(
                "skipped", "The preflight check is off (BANANABATCH_GEMINI_PREFLIGHT)."
            )
        listed = self._cached(("list", self.key_hash), self._list)
        wanted = set(image_models)
        return KeyAccess(listed.state, listed.message, listed.models & wanted, listed.checked_at)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # ---- plumbing ------------------------------------------------------------------------

    def _sdk(self) -> genai.Client:
        with self._lock:
            if self._client is None:
                self._client = genai.Client(
                    vertexai=False,
                    api_key=self.api_key,
                    http_options=types.HttpOptions(
                        base_url=self.base_url,
                        api_version=self.api_version,
                        timeout=max(1, round(self.timeout_seconds * 1000)),
                        retry_options=types.HttpRetryOptions(attempts=1),
                    ),
                )
            return self._client

    def _cached(self, key: tuple[str, ...], compute: Callable[[], T]) -> T:
        """`compute()` once per key and TTL; concurrent callers of one key share a call."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit.expires_at > self.clock():
                return cast(T, hit.value)
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None and hit.expires_at > self.clock():
                    return cast(T, hit.value)
            value = compute()
            inconclusive = getattr(value, "state", "") == "unreachable"
            ttl = self.retry_ttl_seconds if inconclusive else self.ttl_seconds
            with self._lock:
                self._cache[key] = _Entry(value, self.clock() + ttl)
            return value

    def _scrub(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    def _get(self, model_id: str) -> ModelAccess:
        try:
            model = self._sdk().models.get(model=model_id)
        except Exception as exc:
            state, said = classify(exc)
            said = self._scrub(said)
            log.info("gemini preflight %s (key #%s): %s (%s)", model_id, self.key_hash, state, said)
            return ModelAccess(model_id, state, _message(state, model_id, said))
        actions = model.supported_actions
        if actions is not None and GENERATE_METHOD not in actions:
            said = f"it supports {', '.join(actions) or 'nothing'}, not {GENERATE_METHOD}"
            return ModelAccess(
                model_id, "model_unavailable", _message("model_unavailable", model_id, said)
            )
        log.debug("gemini preflight %s (key #%s): ok", model_id, self.key_hash)
        return ModelAccess(model_id, "ok")

    def _list(self) -> KeyAccess:
        now = datetime.now(UTC)
        try:
            names = {
                (m.name or "").removeprefix("models/")
                for m in self._sdk().models.list(config={"page_size": _LIST_PAGE_SIZE})
                if m.supported_actions is None or GENERATE_METHOD in m.supported_actions
            }
        except Exception as exc:
            state, said = classify(exc)
            said = self._scrub(said)
            log.info("gemini model list (key #%s): %s (%s)", self.key_hash, state, said)
            if state == "model_unavailable":  # a 404 on the list itself: a gateway without it
                state = "unreachable"
            return KeyAccess(state, _message(state, None, said), checked_at=now)
        return KeyAccess("ok", "", frozenset(n for n in names if n), now)


def _message(state: AccessState, model_id: str | None, said: str) -> str:
    what = f" and {model_id}" if model_id else ""
    if state == "key_invalid":
        return (
            f"Google refused the Gemini API key ({said}). Set a valid GEMINI_API_KEY and "
            "restart the server; nothing was generated or charged."
        )
    if state == "model_unavailable":
        return (
            f"This Gemini API key cannot use {model_id} ({said}). Pick a model the key can "
            "use (the status page lists them); nothing was generated or charged."
        )
    return (
        f"Could not check the Gemini key{what} with Google ({said}). The job is accepted; "
        "its calls retry with backoff while Google is unreachable."
    )


def require_model_access(preflight: GeminiPreflight, model_id: str) -> list[str]:
    """What the job service calls before a Gemini job spends anything: raises
    GeminiKeyInvalid / ModelUnavailable (HTTP 422), or returns warnings to show
    (an inconclusive check when Google is unreachable)."""
    access = preflight.check_model(model_id)
    if access.state == "key_invalid":
        raise GeminiKeyInvalid(access.message, details={"model": model_id})
    if access.state == "model_unavailable":
        raise ModelUnavailable(access.message, details={"model": model_id})
    if access.state == "unreachable":
        return [access.message]
    return []
