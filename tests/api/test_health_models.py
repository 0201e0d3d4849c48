"""GET /health and GET /models."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.runtime import build_runtime
from tests.api.helpers import API, BASE_URL
from tests.fakes.gemini_server import FakeGeminiServer


async def test_health_reports_components(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/health")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["auth_required"] is False
    assert body["db"] == {"ok": True, "dialect": "sqlite", "error": None}
    assert body["storage"]["ok"] is True
    assert body["executor"]["name"] == "local"
    assert body["executor"]["orchestrator_running"] is False
    assert body["provider"] == {
        "name": "classic",
        "gemini_key_configured": False,
        "default_model": "classic",
        "gemini_key": {
            "state": "not_configured",
            "message": "No Gemini API key is configured.",
            "models": [],
            "checked_at": None,
        },
    }
    assert body["version"]
    assert body["outputs_per_task"] == 4  # the UI labels runs with it


async def test_health_says_a_key_is_set_but_never_shows_it(
    settings: Settings, gemini_fake: FakeGeminiServer
) -> None:
    secret = "AIzaSy-super-secret-test-key"
    gemini_fake.bad_api_keys.add(secret)
    keyed = settings.model_copy(
        update={"gemini_api_key": SecretStr(secret), "gemini_base_url": gemini_fake.base_url}
    )
    rt = build_runtime(keyed)
    try:
        app = create_app(rt)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL
        ) as c:
            r = await c.get(f"{API}/health")
            models = await c.get(f"{API}/models")
    finally:
        await rt.stop()
    provider = r.json()["provider"]
    assert provider["gemini_key_configured"] is True
    assert provider["name"] == "gemini"
    assert provider["default_model"] == "gemini-nano-banana-2.1"
    assert provider["gemini_key"]["state"] == "key_invalid"  # what Google said about it
    assert "API key not valid" in provider["gemini_key"]["message"]
    assert secret not in r.text
    assert secret not in models.text
    by_status = {m["id"]: (m["status"], m["available"]) for m in models.json()}
    assert by_status["gemini-nano-banana-2.1"] == ("current", True)
    assert by_status["gemini-2.5-flash-image"] == ("deprecated", True)
    assert by_status["gemini-3.1-flash-image"] == ("shut_down", False)


async def test_health_lists_the_image_models_the_key_can_use_and_caches_it(
    settings: Settings, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.available_models = [
        "gemini-3.8-flash",
        "gemini-3-pro-image",
        "gemini-nano-banana-2.1",
    ]
    keyed = settings.model_copy(
        update={"gemini_api_key": SecretStr("good"), "gemini_base_url": gemini_fake.base_url}
    )
    rt = build_runtime(keyed)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(rt)), base_url=BASE_URL
        ) as c:
            first = (await c.get(f"{API}/health")).json()["provider"]["gemini_key"]
            again = (await c.get(f"{API}/health")).json()["provider"]["gemini_key"]
    finally:
        await rt.stop()
    assert first["state"] == "ok" and first["message"] == ""
    # catalog order, image models only (the text model is left out)
    assert first["models"] == ["gemini-nano-banana-2.1", "gemini-3-pro-image"]
    assert first["checked_at"] is not None
    assert again == first
    assert gemini_fake.hits("/models", method="GET") == 1  # polled twice, asked Google once


async def test_health_before_the_runtime_exists(settings: Settings) -> None:
    app = create_app(settings=settings)  # the lifespan would build it; not run here
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        r = await c.get(f"{API}/health")
        jobs = await c.get(f"{API}/jobs")
    assert r.status_code == 200
    assert r.json()["ok"] is False
    assert jobs.status_code == 503
    assert jobs.json()["error"]["code"] == "unavailable"


async def test_models_lists_the_catalog(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/models")
    assert r.status_code == 200
    models = {m["id"]: m for m in r.json()}
    assert {"gemini-nano-banana-2.1", "gemini-2.5-flash-image", "classic"} <= set(models)
    classic = models["classic"]
    assert classic["default"] is True and classic["available"] is True
    assert classic["provider"] == "classic"
    nano = models["gemini-2.5-flash-image"]
    assert nano["max_reference_images"] == 3
    assert nano["available"] is False  # no key configured
    assert nano["price_per_image"]
    assert [m for m in r.json() if m["default"]] == [classic]


async def test_models_carry_lifecycle_prices_and_sources(client: httpx.AsyncClient) -> None:
    models = {m["id"]: m for m in (await client.get(f"{API}/models")).json()}
    nb21 = models["gemini-nano-banana-2.1"]
    assert nb21["status"] == "current" and nb21["released"] == "2026-10-06"
    assert nb21["image_sizes"] == ["1K", "2K", "4K"] and len(nb21["aspect_ratios"]) == 14
    assert nb21["price_per_image"] == {"1K": 0.0336, "2K": 0.0504, "4K": 0.1134}
    assert nb21["batch_price_per_image"] == {"1K": 0.0168, "2K": 0.0252, "4K": 0.0567}
    assert nb21["price_per_million_tokens"] == {"input": 1.5, "output": 7.5, "output_image": 30.0}
    assert nb21["sources"]["lifecycle"].startswith("https://ai.google.dev/")
    preview = models["gemini-3.1-flash-image-preview"]
    assert (preview["status"], preview["shutdown"]) == ("shut_down", "2026-06-25")
    assert preview["replacement"] == "gemini-nano-banana-2.1"  # the chain's first usable model
    assert models["gemini-3-pro-image"]["input_image_tokens"] == 560
    assert models["classic"]["sources"] is None and models["classic"]["status"] == "current"
