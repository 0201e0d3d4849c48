"""JSON request bodies are bounded: by size before they are parsed, and field by field."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bananabatch.api.middleware import MAX_JSON_BODY_BYTES
from bananabatch.domain.templating import MAX_PROMPT_CHARS
from bananabatch.services.job_requests import (
    MAX_CLASS_NAME_CHARS,
    MAX_PER_CLASS_PROMPTS,
    MAX_PROMPTS_CSV_CHARS,
)
from tests.api.helpers import API, create_dataset, error_of, photos, upload

MB = 1024 * 1024


def _auto(**extra: Any) -> dict[str, Any]:
    return {"mode": "automatic", "dataset_id": "ds1", "prompt": "a cat", **extra}


async def test_a_50_mb_estimate_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"mode": "automatic", "prompts_csv": "' + b"a" * (50 * MB) + b'"}'
    started = time.monotonic()
    r = await client.post(
        f"{API}/jobs/estimate", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413, r.text[:300]
    err = error_of(r)
    assert err["code"] == "payload_too_large"
    assert err["details"]["max_bytes"] == MAX_JSON_BODY_BYTES
    assert "JSON" in err["message"]
    assert time.monotonic() - started < 5


async def test_a_chunked_json_body_is_cut_off_while_streaming(client: httpx.AsyncClient) -> None:
    """No Content-Length: the bytes are counted, and reading stops past the limit."""
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"mode": "automatic", "prompts_csv": "'
        for _ in range(50):
            sent.append(1)
            yield b"a" * MB
        yield b'"}'

    r = await client.post(
        f"{API}/jobs/preview", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert error_of(r)["code"] == "payload_too_large"
    assert len(sent) <= MAX_JSON_BODY_BYTES // MB + 2  # stopped near the limit, not at 50 MB


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"prompts_csv": "a.jpg," + "x" * MAX_PROMPTS_CSV_CHARS}, "prompts_csv"),
        ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, "prompt"),
        ({"per_class_prompts": {f"c{i}": "p" for i in range(MAX_PER_CLASS_PROMPTS + 1)}},
         "per_class_prompts"),
        ({"per_class_prompts": {"c" * (MAX_CLASS_NAME_CHARS + 1): "p"}}, "per_class_prompts"),
        ({"per_class_prompts": {"cat": "x" * (MAX_PROMPT_CHARS + 1)}}, "per_class_prompts.cat"),
        ({"dataset_id": "d" * 65}, "dataset_id"),
        ({"model": "m" * 129}, "model"),
        ({"options": {"aspect_ratio": "1" * 33}}, "options.aspect_ratio"),
    ],
)  # fmt: skip
async def test_free_form_fields_are_bounded(
    client: httpx.AsyncClient, extra: dict[str, Any], field: str
) -> None:
    for path in ("/jobs/estimate", "/jobs/preview", "/jobs"):
        r = await client.post(f"{API}{path}", json=_auto(**extra))
        assert r.status_code == 422, (path, r.text[:300])
        err = error_of(r)
        assert err["code"] == "validation_failed"
        assert err["details"][0]["field"].startswith(field), err["details"]


async def test_semi_auto_and_other_bodies_are_bounded(client: httpx.AsyncClient) -> None:
    semi = {"mode": "semi_auto", "prompts": [{"prompt": "a", "count": 1}]}
    r = await client.post(f"{API}/jobs/estimate", json=semi | {"reference_asset_ids": ["r" * 65]})
    assert r.status_code == 422
    assert error_of(r)["details"][0]["field"] == "reference_asset_ids[0]"
    r = await client.post(f"{API}/jobs/x/retry-failed", json={"output_ids": ["o" * 65]})
    assert r.status_code == 422
    assert error_of(r)["details"][0]["field"] == "output_ids[0]"
    r = await client.post(f"{API}/jobs/x/export", json={"output_ids": ["o" * 65]})
    assert r.status_code == 422
    assert error_of(r)["details"][0]["field"] == "output_ids[0]"


async def test_a_long_prompt_inside_the_csv_is_refused_by_line(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    assert (await upload(client, ds, photos({"cat": 2}))).status_code == 200
    csv = "cat/1.jpg,short\ncat/2.jpg," + "x" * (MAX_PROMPT_CHARS + 1) + "\n"
    r = await client.post(f"{API}/jobs/estimate", json=_auto(dataset_id=ds, prompts_csv=csv))
    assert r.status_code == 422
    err = error_of(r)
    assert "line 2" in err["message"] and str(MAX_PROMPT_CHARS) in err["message"]
