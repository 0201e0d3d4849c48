"""The fake Gemini server's model routes and key checks, over raw HTTP (the preflight
tests drive the same routes through the real SDK)."""

from __future__ import annotations

import httpx
import pytest
from google.genai import types

from tests.fakes.gemini_server import FakeGeminiServer


def _get(srv: FakeGeminiServer, path: str, key: str | None = "k", **params: str) -> httpx.Response:
    headers = {"x-goog-api-key": key} if key else {}
    return httpx.get(f"{srv.base_url}{path}", headers=headers, params=params, timeout=5)


def test_get_model_answers_the_model_shape_the_sdk_parses(gemini_fake: FakeGeminiServer) -> None:
    r = _get(gemini_fake, "/v1beta/models/gemini-nano-banana-2.1")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "models/gemini-nano-banana-2.1"
    assert "generateContent" in body["supportedGenerationMethods"]
    assert body["inputTokenLimit"] > 0 and body["displayName"]
    model = types.Model.model_validate(
        {"name": body["name"], "supported_actions": body["supportedGenerationMethods"]}
    )
    assert model.name == "models/gemini-nano-banana-2.1"


def test_unknown_models_are_404_like_google(gemini_fake: FakeGeminiServer) -> None:
    r = _get(gemini_fake, "/v1/models/gemini-3-pro-image-preview")
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["status"] == "NOT_FOUND"
    assert err["message"].startswith(
        "models/gemini-3-pro-image-preview is not found for API version v1"
    )
    gemini_fake.available_models.append("gemini-3-pro-image-preview")
    assert _get(gemini_fake, "/v1/models/gemini-3-pro-image-preview").status_code == 200


def test_the_list_is_paged(gemini_fake: FakeGeminiServer) -> None:
    gemini_fake.available_models = [f"gemini-m{i}" for i in range(5)]
    first = _get(gemini_fake, "/v1beta/models", pageSize="2").json()
    assert [m["name"] for m in first["models"]] == ["models/gemini-m0", "models/gemini-m1"]
    second = _get(gemini_fake, "/v1beta/models", pageSize="2", pageToken=first["nextPageToken"])
    third = _get(
        gemini_fake, "/v1beta/models", pageSize="2", pageToken=second.json()["nextPageToken"]
    ).json()
    assert [m["name"] for m in third["models"]] == ["models/gemini-m4"]
    assert "nextPageToken" not in third
    assert _get(gemini_fake, "/v1beta/models", pageToken="garbage!").status_code == 400


@pytest.mark.parametrize(
    ("key", "status", "reason"),
    [
        (None, 403, None),
        ("bad", 400, "API_KEY_INVALID"),
        ("denied", 403, "API_KEY_SERVICE_BLOCKED"),
    ],
)
def test_keys_are_checked_on_the_model_routes(
    gemini_fake: FakeGeminiServer, key: str | None, status: int, reason: str | None
) -> None:
    gemini_fake.bad_api_keys.add("bad")
    gemini_fake.denied_api_keys.add("denied")
    for path in ("/v1beta/models", "/v1beta/models/gemini-nano-banana-2.1"):
        r = _get(gemini_fake, path, key=key)
        assert r.status_code == status
        reasons = [d.get("reason") for d in r.json()["error"].get("details", [])]
        assert reasons == ([reason] if reason else [])


def test_every_request_is_counted_by_method_and_path(gemini_fake: FakeGeminiServer) -> None:
    _get(gemini_fake, "/v1beta/models/gemini-nano-banana-2.1")
    _get(gemini_fake, "/v1beta/models/gemini-nano-banana-2.1")
    _get(gemini_fake, "/v1beta/models", pageSize="1")
    httpx.post(f"{gemini_fake.base_url}/v1beta/nowhere", timeout=5)
    assert gemini_fake.path_counts == {
        "GET /v1beta/models/gemini-nano-banana-2.1": 2,
        "GET /v1beta/models": 1,
        "POST /v1beta/nowhere": 1,
    }
    assert gemini_fake.hits() == 4
    assert gemini_fake.hits("/models", method="GET") == 3
    assert gemini_fake.hits("gemini-nano-banana-2.1") == 2
    gemini_fake.reset()
    assert gemini_fake.hits() == 0
