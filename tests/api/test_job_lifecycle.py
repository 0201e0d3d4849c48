"""Model lifecycle and the Gemini preflight over HTTP: deprecated models are accepted
with warnings, shut-down ones, bad keys and models the key cannot use are 422s with a
domain code before anything is stored or a single image is paid for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.db.models import JobStatus, OutputStatus
from bananabatch.runtime import Runtime, build_runtime
from tests.api.helpers import API, BASE_URL, error_of, insert_job
from tests.fakes.gemini_server import FakeGeminiServer

GOOD_KEY = "good-gemini-key"


def _job(model: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"mode": "semi_auto", "prompts": [{"prompt": "a red bike", "count": 4}]}
    if model is not None:
        body["model"] = model
    return {**body, **extra}


@pytest.fixture
async def gemini_rt(settings: Settings, gemini_fake: FakeGeminiServer) -> AsyncIterator[Runtime]:
    keyed = settings.model_copy(
        update={"gemini_api_key": SecretStr(GOOD_KEY), "gemini_base_url": gemini_fake.base_url}
    )
    rt = build_runtime(keyed)
    rt.orchestrator.wake = lambda: None  # type: ignore[method-assign]  # not running here
    yield rt
    await rt.stop()


@pytest.fixture
async def api(gemini_rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(gemini_rt))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


def _closed_url(fake: FakeGeminiServer) -> str:
    """A stopped fake's URL: its port is closed, so connections are refused."""
    return f"http://{fake.host}:{fake.port}"


async def _count_jobs(api: httpx.AsyncClient) -> int:
    total: int = (await api.get(f"{API}/jobs")).json()["total"]
    return total


# ---- lifecycle --------------------------------------------------------------------------


async def test_the_default_model_is_nano_banana_2_1_without_warnings(
    api: httpx.AsyncClient, gemini_fake: FakeGeminiServer
) -> None:
    est = await api.post(f"{API}/jobs/estimate", json=_job(None))
    assert est.status_code == 200, est.text
    assert est.json()["model"] == "gemini-nano-banana-2.1"
    assert est.json()["model_status"] == "current"
    assert est.json()["warnings"] == []
    assert est.json()["price_per_image"] == 0.0336 and est.json()["batch_price_per_image"] == 0.0168
    created = await api.post(f"{API}/jobs", json=_job(None))
    assert created.status_code == 201, created.text
    assert created.json()["model"] == "gemini-nano-banana-2.1"
    assert created.json()["warnings"] == []
    assert gemini_fake.hits(":generateContent") == 0  # nothing generated yet


async def test_a_deprecated_model_is_accepted_with_a_warning(api: httpx.AsyncClient) -> None:
    for path in ("/jobs/estimate", "/jobs"):
        r = await api.post(f"{API}{path}", json=_job("gemini-2.5-flash-image"))
        assert r.status_code in (200, 201), r.text
        (warning,) = r.json()["warnings"]
        assert "gemini-2.5-flash-image is deprecated" in warning
        assert "gemini-nano-banana-2.1" in warning
    assert await _count_jobs(api) == 1


@pytest.mark.parametrize(
    ("model", "replacement"),
    [
        ("gemini-3.1-flash-image", "gemini-nano-banana-2.1"),
        ("gemini-3-pro-image-preview", "gemini-3-pro-image"),
        ("models/Gemini-3.1-Flash-Image-Preview", "gemini-nano-banana-2.1"),
    ],
)
async def test_a_shut_down_model_is_refused_naming_its_replacement(
    api: httpx.AsyncClient, gemini_fake: FakeGeminiServer, model: str, replacement: str
) -> None:
    for path in ("/jobs/estimate", "/jobs", "/jobs/preview"):
        r = await api.post(f"{API}{path}", json=_job(model))
        assert r.status_code == 422, r.text
        err = error_of(r)
        assert err["code"] == "model_shut_down"
        assert "was shut down on" in err["message"] and f"use {replacement} (" in err["message"]
        assert err["details"]["replacement"] == replacement
    assert await _count_jobs(api) == 0
    assert gemini_fake.hits() == 0  # refused from the catalog alone: Google is not asked


async def test_a_stored_job_on_a_now_shut_down_model_still_loads(
    gemini_rt: Runtime, api: httpx.AsyncClient
) -> None:
    stored = insert_job(
        gemini_rt,
        statuses=[OutputStatus.succeeded, OutputStatus.pending],
        job_status=JobStatus.paused,
        model="gemini-3-pro-image-preview",
    )
    detail = await api.get(f"{API}/jobs/{stored.job_id}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["model"] == "gemini-3-pro-image-preview"
    listed = await api.get(f"{API}/jobs")
    assert listed.status_code == 200 and listed.json()["items"][0]["id"] == stored.job_id
    outputs = await api.get(f"{API}/jobs/{stored.job_id}/outputs")
    assert outputs.status_code == 200 and len(outputs.json()["items"]) == 2
    cancelled = await api.post(f"{API}/jobs/{stored.job_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text


# ---- preflight --------------------------------------------------------------------------


async def test_an_estimate_then_a_create_ask_google_once(
    api: httpx.AsyncClient, gemini_fake: FakeGeminiServer
) -> None:
    assert (await api.post(f"{API}/jobs/estimate", json=_job("gemini-3-pro-image"))).is_success
    for _ in range(2):
        assert (await api.post(f"{API}/jobs", json=_job("gemini-3-pro-image"))).status_code == 201
    assert gemini_fake.path_counts == {"GET /v1beta/models/gemini-3-pro-image": 1}


@pytest.mark.parametrize("refusal", ["bad", "denied"])
async def test_a_key_google_refuses_fails_job_creation_with_one_call(
    api: httpx.AsyncClient, gemini_fake: FakeGeminiServer, refusal: str
) -> None:
    keys = gemini_fake.bad_api_keys if refusal == "bad" else gemini_fake.denied_api_keys
    keys.add(GOOD_KEY)
    for _ in range(2):  # the second job within the cache window makes no extra call
        r = await api.post(f"{API}/jobs", json=_job(None))
        assert r.status_code == 422, r.text
        err = error_of(r)
        assert err["code"] == "gemini_key_invalid"
        assert "Google refused the Gemini API key" in err["message"]
        assert ("400" if refusal == "bad" else "403") in err["message"]
        assert GOOD_KEY not in r.text
    assert gemini_fake.hits() == 1
    assert await _count_jobs(api) == 0


async def test_a_model_the_key_cannot_use_fails_with_one_call(
    api: httpx.AsyncClient, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.available_models = ["gemini-nano-banana-2.1"]
    est = await api.post(f"{API}/jobs/estimate", json=_job("gemini-3-pro-image"))
    created = await api.post(f"{API}/jobs", json=_job("gemini-3-pro-image"))
    for r in (est, created):
        assert r.status_code == 422, r.text
        assert error_of(r)["code"] == "model_unavailable"
        assert "cannot use gemini-3-pro-image" in error_of(r)["message"]
        assert error_of(r)["details"] == {"model": "gemini-3-pro-image"}
    assert gemini_fake.hits() == 1
    assert await _count_jobs(api) == 0


async def test_an_unreachable_google_warns_and_accepts_the_job(
    settings: Settings, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.stop()  # nothing listens on that port any more
    keyed = settings.model_copy(
        update={
            "gemini_api_key": SecretStr(GOOD_KEY),
            "gemini_base_url": _closed_url(gemini_fake),
        }
    )
    rt = build_runtime(keyed)
    rt.orchestrator.wake = lambda: None  # type: ignore[method-assign]
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(rt)), base_url=BASE_URL
        ) as c:
            r = await c.post(f"{API}/jobs", json=_job(None))
    finally:
        await rt.stop()
    assert r.status_code == 201, r.text
    (warning,) = r.json()["warnings"]
    assert "Could not check the Gemini key and gemini-nano-banana-2.1 with Google" in warning


async def test_the_preflight_can_be_turned_off_for_a_gateway(
    settings: Settings, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.bad_api_keys.add(GOOD_KEY)
    keyed = settings.model_copy(
        update={
            "gemini_api_key": SecretStr(GOOD_KEY),
            "gemini_base_url": gemini_fake.base_url,
            "gemini_preflight": False,
        }
    )
    rt = build_runtime(keyed)
    rt.orchestrator.wake = lambda: None  # type: ignore[method-assign]
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(rt)), base_url=BASE_URL
        ) as c:
            r = await c.post(f"{API}/jobs", json=_job(None))
            health = (await c.get(f"{API}/health")).json()["provider"]["gemini_key"]
    finally:
        await rt.stop()
    assert r.status_code == 201 and r.json()["warnings"] == []
    assert health["state"] == "skipped"
    assert gemini_fake.hits() == 0
