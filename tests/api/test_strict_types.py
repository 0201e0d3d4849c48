"""JSON request bodies are typed strictly: `true` is not 1, "5" is not 5, 1.0 is not 1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import API, error_of


def _auto(**extra: Any) -> dict[str, Any]:
    return {"mode": "automatic", "dataset_id": "ds1", "prompt": "a cat", **extra}


def _semi(**extra: Any) -> dict[str, Any]:
    return {"mode": "semi_auto", "prompts": [{"prompt": "a", "count": 4}], **extra}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_auto(variations=True), "variations"),
        (_auto(variations="2"), "variations"),
        (_auto(variations=2.0), "variations"),
        (_auto(seed=False), "seed"),
        (_auto(priority="1"), "priority"),
        (_auto(include_originals=1), "include_originals"),
        (_auto(include_originals="yes"), "include_originals"),
        (_semi(prompts=[{"prompt": "a", "count": True}]), "prompts[0].count"),
        (_semi(prompts=[{"prompt": 5, "count": 4}]), "prompts[0].prompt"),
    ],
)
async def test_job_bodies_refuse_loosely_typed_values(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    for path in ("/jobs/estimate", "/jobs/preview", "/jobs"):
        r = await client.post(f"{API}{path}", json=body)
        assert r.status_code == 422, (path, r.text)
        err = error_of(r)
        assert err["code"] == "validation_failed"
        assert [d["field"] for d in err["details"]] == [field], err["details"]
        assert field in err["message"]


async def test_other_bodies_are_strict_too(client: httpx.AsyncClient) -> None:
    r = await client.patch(f"{API}/jobs/abc", json={"priority": True})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "priority"
    r = await client.post(
        f"{API}/jobs/abc/export", json={"output_ids": ["o1"], "include_originals": 1}
    )
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "include_originals"
    r = await client.post(f"{API}/datasets", json={"name": 7})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "name"


async def test_well_typed_values_still_pass(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/jobs/estimate", json=_semi(seed=7, priority=-3))
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/jobs/estimate", json=_semi(options={"output_format": "webp"}))
    assert r.status_code == 200, r.text
