"""GET /health and GET /models."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.runtime import build_runtime
from tests.api.helpers import API, BASE_URL


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
    }
    assert body["version"]
    assert body["outputs_per_task"] == 4  # the UI labels runs with it


async def test_health_says_a_key_is_set_but_never_shows_it(settings: Settings) -> None:
    secret = "AIzaSy-super-secret-test-key"
    keyed = settings.model_copy(update={"gemini_api_key": SecretStr(secret)})
    rt = build_runtime(keyed)
    try:
        app = create_app(rt)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL
        ) as c:
            r = await c.get(f"{API}/health")
            models = await c.get(f"{API}/models")
    finally:
        rt.engine.dispose()
    assert r.json()["provider"]["gemini_key_configured"] is True
    assert r.json()["provider"]["name"] == "gemini"
    assert secret not in r.text
    assert secret not in models.text
    assert all(m["available"] for m in models.json())


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
    assert {"gemini-2.5-flash-image", "classic"} <= set(models)
    classic = models["classic"]
    assert classic["default"] is True and classic["available"] is True
    assert classic["provider"] == "classic"
    nano = models["gemini-2.5-flash-image"]
    assert nano["max_reference_images"] == 3
    assert nano["available"] is False  # no key configured
    assert nano["price_per_image"]
    assert [m for m in r.json() if m["default"]] == [classic]
