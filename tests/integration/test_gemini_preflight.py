"""The preflight with the real `google-genai` client against the fake Gemini server:
states, caching (per key+model, success and refusal), single flight, paging, and no
key in logs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from google.genai import errors as genai_errors

from bananabatch.errors import GeminiKeyInvalid, ModelUnavailable
from bananabatch.providers.gemini_preflight import (
    GeminiPreflight,
    classify,
    require_model_access,
)
from tests.fakes.gemini_server import FakeGeminiServer

KEY = "AIzaSy-preflight-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def preflight(gemini_fake: FakeGeminiServer, clock: Clock) -> Iterator[GeminiPreflight]:
    pf = GeminiPreflight(api_key=KEY, base_url=gemini_fake.base_url, clock=clock)
    yield pf
    pf.close()


def test_a_usable_model_is_ok_and_cached(
    preflight: GeminiPreflight, gemini_fake: FakeGeminiServer, clock: Clock
) -> None:
    first = preflight.check_model("gemini-nano-banana-2.1")
    assert (first.state, first.message) == ("ok", "")
    assert preflight.check_model("gemini-nano-banana-2.1") is first
    assert gemini_fake.path_counts == {"GET /v1beta/models/gemini-nano-banana-2.1": 1}
    clock.now += 299
    preflight.check_model("gemini-nano-banana-2.1")
    assert gemini_fake.hits() == 1
    clock.now += 2  # past the 5-minute TTL: asked again
    preflight.check_model("gemini-nano-banana-2.1")
    assert gemini_fake.hits() == 2
    preflight.check_model("gemini-3-pro-image")  # another model is its own entry
    assert gemini_fake.hits() == 3


@pytest.mark.parametrize(
    ("setup", "state", "said"),
    [
        (
            lambda f: f.bad_api_keys.add(KEY),
            "key_invalid",
            "400 INVALID_ARGUMENT: API key not valid",
        ),
        (lambda f: f.denied_api_keys.add(KEY), "key_invalid", "403 PERMISSION_DENIED"),
        (lambda f: setattr(f, "expected_api_key", "another"), "key_invalid", "API key not valid"),
        (lambda f: setattr(f, "available_models", []), "model_unavailable", "404 NOT_FOUND"),
    ],
)
def test_refusals_are_classified_and_cached_too(
    preflight: GeminiPreflight,
    gemini_fake: FakeGeminiServer,
    clock: Clock,
    setup: object,
    state: str,
    said: str,
) -> None:
    setup(gemini_fake)  # type: ignore[operator]
    access = preflight.check_model("gemini-nano-banana-2.1")
    assert access.state == state
    assert said in access.message
    assert KEY not in access.message
    clock.now += 60
    assert preflight.check_model("gemini-nano-banana-2.1") is access
    assert gemini_fake.hits() == 1


def test_require_model_access_raises_domain_errors(
    preflight: GeminiPreflight, gemini_fake: FakeGeminiServer
) -> None:
    assert require_model_access(preflight, "gemini-nano-banana-2.1") == []
    gemini_fake.available_models = ["gemini-nano-banana-2.1"]
    with pytest.raises(ModelUnavailable) as unavailable:
        require_model_access(preflight, "gemini-3-pro-image")
    assert (unavailable.value.status_code, unavailable.value.code) == (422, "model_unavailable")
    other = GeminiPreflight(api_key="wrong", base_url=gemini_fake.base_url)
    gemini_fake.bad_api_keys.add("wrong")
    try:
        with pytest.raises(GeminiKeyInvalid) as invalid:
            require_model_access(other, "gemini-nano-banana-2.1")
    finally:
        other.close()
    assert invalid.value.code == "gemini_key_invalid"
    assert "nothing was generated or charged" in invalid.value.message


def test_an_unreachable_server_is_inconclusive_and_retried_soon(
    gemini_fake: FakeGeminiServer, clock: Clock
) -> None:
    url = gemini_fake.base_url
    gemini_fake.stop()
    pf = GeminiPreflight(api_key=KEY, base_url=url, clock=clock, timeout_seconds=2)
    try:
        access = pf.check_model("gemini-nano-banana-2.1")
        assert access.state == "unreachable"
        assert "Could not check" in access.message and "The job is accepted" in access.message
        assert require_model_access(pf, "gemini-nano-banana-2.1") == [access.message]
        gemini_fake.port = int(url.rsplit(":", 1)[1])
        gemini_fake.start()  # Google is back on the same port
        clock.now += 29
        assert pf.check_model("gemini-nano-banana-2.1").state == "unreachable"  # still cached
        clock.now += 2  # past the short retry TTL, not the 5-minute one
        assert pf.check_model("gemini-nano-banana-2.1").state == "ok"
    finally:
        pf.close()


def test_concurrent_checks_of_one_model_share_one_call(
    preflight: GeminiPreflight, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.latency = 0.2  # every check is in flight at once
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(preflight.check_model("gemini-3-pro-image").state)
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["ok"] * 8
    assert gemini_fake.hits() == 1


def test_key_access_pages_through_the_list_and_keeps_image_models(
    preflight: GeminiPreflight, gemini_fake: FakeGeminiServer
) -> None:
    filler = [f"gemini-text-{i:03d}" for i in range(130)]  # more than one page of 100
    gemini_fake.available_models = [*filler, "gemini-3-pro-image", "gemini-nano-banana-2.1"]
    wanted = ["gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-2.5-flash-image"]
    access = preflight.key_access(wanted)
    assert access.state == "ok"
    assert access.models == {"gemini-nano-banana-2.1", "gemini-3-pro-image"}
    assert access.checked_at is not None
    assert gemini_fake.hits("/v1beta/models", method="GET") == 2  # two pages
    assert preflight.key_access(wanted).models == access.models  # cached
    assert gemini_fake.hits() == 2


def test_key_access_reports_a_refused_key(
    preflight: GeminiPreflight, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.bad_api_keys.add(KEY)
    access = preflight.key_access(["gemini-nano-banana-2.1"])
    assert access.state == "key_invalid" and access.models == frozenset()
    assert "API key not valid" in access.message


def test_no_key_or_switched_off_means_no_call(gemini_fake: FakeGeminiServer) -> None:
    none = GeminiPreflight(api_key="  ", base_url=gemini_fake.base_url)
    off = GeminiPreflight(api_key=KEY, base_url=gemini_fake.base_url, enabled=False)
    assert none.check_model("gemini-nano-banana-2.1").state == "not_configured"
    assert none.key_access(["x"]).state == "not_configured"
    assert off.check_model("gemini-nano-banana-2.1").state == "skipped"
    assert off.key_access(["x"]).state == "skipped"
    assert require_model_access(off, "gemini-nano-banana-2.1") == []
    assert gemini_fake.hits() == 0


def test_the_key_never_reaches_the_logs(
    preflight: GeminiPreflight, gemini_fake: FakeGeminiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="bananabatch")  # the CLI tests raise its level
    gemini_fake.bad_api_keys.add(KEY)
    preflight.check_model("gemini-nano-banana-2.1")
    preflight.key_access(["gemini-nano-banana-2.1"])
    assert "gemini-nano-banana-2.1" in caplog.text and f"#{preflight.key_hash}" in caplog.text
    assert KEY not in caplog.text
    assert KEY not in repr(preflight)


@pytest.mark.parametrize(
    ("code", "status", "state"),
    [
        (429, "RESOURCE_EXHAUSTED", "unreachable"),
        (500, "INTERNAL", "unreachable"),
        (503, "UNAVAILABLE", "unreachable"),
        (401, "UNAUTHENTICATED", "key_invalid"),
        (404, "NOT_FOUND", "model_unavailable"),
        (400, "INVALID_ARGUMENT", "unreachable"),  # not about the key: inconclusive
    ],
)
def test_classify_http_answers(code: int, status: str, state: str) -> None:
    error = genai_errors.APIError(code, {"error": {"code": code, "status": status, "message": "m"}})
    assert classify(error)[0] == state


def test_classify_reads_the_error_info_reason() -> None:
    body = {
        "error": {
            "code": 400,
            "status": "INVALID_ARGUMENT",
            "message": "Bad request.",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
            ],
        }
    }
    assert classify(genai_errors.APIError(400, body))[0] == "key_invalid"
    assert classify(TimeoutError("slow"))[0] == "unreachable"
