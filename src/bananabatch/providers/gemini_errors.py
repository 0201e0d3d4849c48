"""A failed Gemini call -> the port's error class, so the retry policy is decided by
kind and honours the `RetryInfo.retryDelay` that the SDK ignores. Pure; unit-tested
on SDK objects without HTTP."""

from __future__ import annotations

import importlib
import re
from typing import Any

from google.genai import errors as genai_errors

from bananabatch.providers.base import (
    InvalidRequestError,
    ProviderError,
    RateLimitedError,
    TransientError,
)

TRANSIENT_CLIENT_CODES = frozenset({408, 499})
"""4xx codes that are about timing, not the request (timeout, cancelled)."""

_DURATION_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*s\s*$")


def parse_duration(value: object) -> float | None:
    """A protobuf Duration in JSON form ("37s", "1.5s", "0.250s") -> seconds.

    Also accepts the object form {"seconds": 37, "nanos": 5e8} and bare numbers.
    Returns None for anything unusable or negative.
    """
    seconds: float | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            seconds = float(match.group(1))
    elif isinstance(value, dict):
        try:
            seconds = float(value.get("seconds", 0) or 0) + float(value.get("nanos", 0) or 0) / 1e9
        except (TypeError, ValueError):
            return None
    if seconds is None or seconds < 0:
        return None
    return seconds


def _error_details(details: object) -> list[Any]:
    """The `error.details` list of a Google API error body, wherever it sits."""
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    if not isinstance(details, dict):
        return []
    inner = details.get("error", details)
    found = inner.get("details") if isinstance(inner, dict) else None
    return found if isinstance(found, list) else []


def retry_delay_from_details(details: object) -> float | None:
    """`retryDelay` of the `google.rpc.RetryInfo` entry in an API error body."""
    for entry in _error_details(details):
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("@type", ""))
        if kind.endswith("google.rpc.RetryInfo"):
            delay = parse_duration(entry.get("retryDelay", entry.get("retry_delay")))
            if delay is not None:
                return delay
    return None


def _retry_after_header(error: genai_errors.APIError) -> float | None:
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if not isinstance(value, str):
        return None
    return parse_duration(f"{value.strip()}s")  # delta-seconds; an HTTP-date is ignored


def _api_message(error: genai_errors.APIError) -> str:
    message = error.message or ""
    status = error.status or ""
    label = f"{error.code} {status}".strip()
    return f"{label}: {message}" if message else label


def classify_api_error(error: genai_errors.APIError) -> ProviderError:
    """An SDK API error (an HTTP error answer) -> the port's error class."""
    code = int(error.code or 0)
    detail = _api_message(error)
    if code == 429:
        retry_after = retry_delay_from_details(error.details)
        if retry_after is None:
            retry_after = _retry_after_header(error)
        return RateLimitedError(f"Gemini rate limit: {detail}", retry_after=retry_after)
    if code >= 500 or code in TRANSIENT_CLIENT_CODES:
        return TransientError(f"Gemini server error: {detail}")
    if 400 <= code < 500:
        return InvalidRequestError(f"Gemini rejected the request: {detail}")
    return TransientError(f"Gemini unexpected answer: {detail}")


def _transport_error_classes() -> tuple[type[BaseException], ...]:
    """Transport errors of every HTTP backend the SDK may pick, whichever are installed:
    httpx / httpx2, or aiohttp, which google-genai uses for async calls whenever it is
    importable (the RunPod SDK brings it into the worker image)."""
    classes: list[type[BaseException]] = []
    for module_name, class_name in (
        ("httpx", "TransportError"),
        ("httpx2", "TransportError"),
        ("aiohttp", "ClientConnectionError"),  # refused, reset, server timeouts
        ("aiohttp", "ClientPayloadError"),  # a body cut off mid-transfer
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            classes.append(cls)
    return tuple(classes)


_TRANSPORT_ERRORS = _transport_error_classes()


def classify_exception(exc: BaseException) -> ProviderError:
    """Any exception raised around a Gemini call -> the port's error class."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return classify_api_error(exc)
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is TimeoutError on 3.11
        return TransientError("Gemini call timed out")
    if _TRANSPORT_ERRORS and isinstance(exc, _TRANSPORT_ERRORS):
        kind = "timed out" if "Timeout" in type(exc).__name__ else "connection failed"
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return TransientError(f"Gemini call {kind} ({detail})")
    if isinstance(exc, ConnectionError):
        return TransientError(f"Gemini connection failed: {exc}")
    if isinstance(exc, genai_errors.UnknownApiResponseError):
        return TransientError(f"Gemini answered something that is not JSON: {exc}")
    if isinstance(exc, ValueError | TypeError):
        # the SDK validates parameters client-side (e.g. an option a model lacks)
        return InvalidRequestError(f"Gemini request is not valid: {exc}")
    return ProviderError(f"Gemini call failed: {type(exc).__name__}: {exc}")
