"""A failed Gemini call -> the port's error class, on SDK objects (no HTTP)."""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
import httpx2
import pytest
from google.genai import errors as genai_errors

from bananabatch.contracts import ErrorKind
from bananabatch.providers.base import (
    BlockedError,
    InvalidRequestError,
    ProviderError,
    RateLimitedError,
    TransientError,
)
from bananabatch.providers.gemini_errors import (
    classify_api_error,
    classify_exception,
    parse_duration,
    retry_delay_from_details,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("37s", 37.0),
        ("1.5s", 1.5),
        ("0.250s", 0.25),
        (" 2s ", 2.0),
        ("0s", 0.0),
        ({"seconds": 3, "nanos": 500_000_000}, 3.5),
        ({"seconds": "4"}, 4.0),
        (12, 12.0),
        ("37", None),
        ("soon", None),
        ("-1s", None),
        (None, None),
        (True, None),
        ([], None),
    ],
)
def test_parse_duration(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


def _rate_limit_body(*details: dict[str, Any]) -> dict[str, Any]:
    return {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota.",
            "status": "RESOURCE_EXHAUSTED",
            "details": list(details),
        }
    }


QUOTA = {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []}
RETRY = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}


def test_retry_info_is_found_among_other_details() -> None:
    assert retry_delay_from_details(_rate_limit_body(QUOTA, RETRY)) == 37.0
    assert retry_delay_from_details([_rate_limit_body(RETRY)]) == 37.0  # list-wrapped body
    assert retry_delay_from_details(_rate_limit_body(QUOTA)) is None
    assert retry_delay_from_details({"error": {"code": 429}}) is None
    assert retry_delay_from_details("not json") is None
    assert retry_delay_from_details({"error": {"details": ["junk", RETRY]}}) == 37.0


def test_429_is_rate_limited_with_retry_after_from_retry_info() -> None:
    error = genai_errors.ClientError(429, _rate_limit_body(QUOTA, RETRY), None)
    classified = classify_api_error(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.kind is ErrorKind.rate_limited
    assert classified.retry_after == 37.0
    assert "RESOURCE_EXHAUSTED" in classified.message
    assert "You exceeded your current quota." in classified.message


def test_429_with_fractional_delay() -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}
    error = genai_errors.ClientError(429, _rate_limit_body(retry), None)
    assert classify_api_error(error).retry_after == 1.5


def test_429_without_retry_info_falls_back_to_retry_after_header() -> None:
    response = httpx.Response(429, headers={"Retry-After": "12"})
    error = genai_errors.ClientError(429, _rate_limit_body(QUOTA), response)
    classified = classify_api_error(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.retry_after == 12.0


def test_429_with_no_hint_has_no_retry_after() -> None:
    error = genai_errors.ClientError(429, _rate_limit_body(QUOTA), None)
    classified = classify_api_error(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.retry_after is None


# ------------------------------------------------------------ HTTP codes ----


def _api_error(code: int, status: str, message: str) -> genai_errors.APIError:
    body = {"error": {"code": code, "status": status, "message": message}}
    if code >= 500:
        return genai_errors.ServerError(code, body, None)
    return genai_errors.ClientError(code, body, None)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_is_transient(code: int) -> None:
    classified = classify_api_error(_api_error(code, "UNAVAILABLE", "The model is overloaded."))
    assert isinstance(classified, TransientError)
    assert classified.kind is ErrorKind.transient
    assert "overloaded" in classified.message


@pytest.mark.parametrize("code", [408, 499])
def test_timing_4xx_is_transient(code: int) -> None:
    assert isinstance(classify_api_error(_api_error(code, "X", "late")), TransientError)


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        (400, "FAILED_PRECONDITION", "Image generation is not available in your country."),
        (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
        (404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta"),
        (413, "", "Request payload size exceeds the limit"),
    ],
)
def test_other_4xx_is_invalid_with_the_api_message(code: int, status: str, message: str) -> None:
    classified = classify_api_error(_api_error(code, status, message))
    assert isinstance(classified, InvalidRequestError)
    assert classified.kind is ErrorKind.invalid
    assert message in classified.message
    assert str(code) in classified.message


def test_non_json_error_body_still_classifies() -> None:
    # the SDK builds {"message": text, "status": reason} when the body is not JSON
    error = genai_errors.ServerError(502, {"message": "<html>bad gateway</html>"}, None)
    classified = classify_api_error(error)
    assert isinstance(classified, TransientError)
    assert "bad gateway" in classified.message


# ------------------------------------------------------------ exceptions ----


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx2.ReadTimeout("read timed out"),
        httpx2.ConnectError("connection refused"),
        TimeoutError(),
        ConnectionResetError("reset by peer"),
        genai_errors.UnknownApiResponseError("Failed to parse response as JSON"),
        # google-genai's async backend when aiohttp is installed (the worker image has it)
        aiohttp.ServerDisconnectedError(),
        aiohttp.ServerTimeoutError("timeout"),
        aiohttp.ClientOSError(111, "Connect call failed"),
        aiohttp.ClientPayloadError("response payload is not completed"),
    ],
)
def test_transport_failures_are_transient(exc: BaseException) -> None:
    classified = classify_exception(exc)
    assert isinstance(classified, TransientError)


def test_timeouts_say_so() -> None:
    assert "timed out" in classify_exception(httpx2.ReadTimeout("")).message
    assert "timed out" in classify_exception(TimeoutError()).message
    assert "connection failed" in classify_exception(httpx.ConnectError("refused")).message
    assert "timed out" in classify_exception(aiohttp.ServerTimeoutError("t")).message


def test_api_errors_go_through_classify_api_error() -> None:
    error = genai_errors.ClientError(429, _rate_limit_body(RETRY), None)
    classified = classify_exception(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.retry_after == 37.0


def test_sdk_parameter_errors_are_invalid() -> None:
    classified = classify_exception(ValueError("person_generation parameter is not supported"))
    assert isinstance(classified, InvalidRequestError)
    assert "person_generation" in classified.message


def test_provider_errors_pass_through_and_unknown_ones_are_internal() -> None:
    blocked = BlockedError("no")
    assert classify_exception(blocked) is blocked
    other = classify_exception(RuntimeError("boom"))
    assert type(other) is ProviderError
    assert other.kind is ErrorKind.internal
    assert "boom" in other.message


# ---------------------------------------------------------- request side ----
