"""The review pass over HTTP: accept and reject outputs (by id, in bulk, by flag),
filter by review state, price and regenerate the rejected slots (only those are
generated again), and export accepted outputs only."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import httpx
import pytest

from bananabatch.providers.base import GeneratedImage, GenerationRequest
from bananabatch.providers.classic import ClassicProvider
from bananabatch.runtime import Runtime
from tests import labelled
from tests.api.helpers import API, create_dataset, error_of, upload


class Counting(ClassicProvider):
    """The classic provider, counting calls per seed."""

    def __init__(self) -> None:
        self.seeds: list[int] = []

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        self.seeds.append(request.seed)
        return await super().generate(request)


async def _run(runtime: Runtime, job_id: str) -> None:
    await runtime.start()
    await asyncio.wait_for(runtime.orchestrator.wait_for_jobs([job_id]), 120)
    await runtime.orchestrator.stop()


async def _outputs(client: httpx.AsyncClient, job_id: str, **query: Any) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/jobs/{job_id}/outputs", params=query)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


@pytest.fixture
def counting(runtime: Runtime) -> Counting:
    provider = Counting()
    runtime.providers.register("classic", provider)
    return provider


async def _labelled_job(client: httpx.AsyncClient, runtime: Runtime) -> str:
    ds = await create_dataset(client, "signs")
    r = await upload(client, ds, list(labelled.yolo().files.items()), as_paths=True)
    assert r.json()["errors"] == []
    r = await client.post(
        f"{API}/jobs",
        json={"mode": "automatic", "dataset_id": ds, "prompt": "flip", "variations": 2, "seed": 3},
    )
    assert r.status_code == 201, r.text
    job_id: str = r.json()["id"]
    await _run(runtime, job_id)
    return job_id


async def test_review_regenerate_and_accepted_only_export(
    client: httpx.AsyncClient, runtime: Runtime, counting: Counting
) -> None:
    job_id = await _labelled_job(client, runtime)
    outputs = await _outputs(client, job_id)
    assert len(outputs) == 6 and len(counting.seeds) == 6
    assert all(o["review"] == "unreviewed" and o["label_count"] == 2 for o in outputs)
    assert all(o["transform"] and o["transform"][-1] == "horizontal flip" for o in outputs)
    assert all(len(o["labels"]) == 2 and len(o["labels"][0]["bbox"]) == 4 for o in outputs)
    ids = [o["id"] for o in outputs]

    r = await client.post(
        f"{API}/jobs/{job_id}/review", json={"decision": "accepted", "output_ids": ids[:3]}
    )
    assert r.json()["updated"] == 3
    r = await client.post(
        f"{API}/jobs/{job_id}/review", json={"decision": "rejected", "output_ids": ids[3:5]}
    )
    assert r.json()["review"] == {"unreviewed": 1, "accepted": 3, "rejected": 2}
    detail = (await client.get(f"{API}/jobs/{job_id}")).json()
    assert detail["quality"]["review"] == {"unreviewed": 1, "accepted": 3, "rejected": 2}
    assert detail["quality"]["label_format"] == "yolo" and detail["quality"]["labelled"]
    assert detail["quality"]["classes"] == ["sign", "tag"]
    assert [o["id"] for o in await _outputs(client, job_id, review="rejected")] == ids[3:5]

    # the default export leaves rejected outputs out, with the reason in the manifest
    r = await client.get(f"{API}/jobs/{job_id}/export")
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        rows = zf.read("manifest.jsonl").decode()
        assert rows.count('"excluded":"rejected in review"') == 2
        assert sum("__v" in n and n.startswith("images/") for n in zf.namelist()) == 4

    r = await client.get(f"{API}/jobs/{job_id}/export", params={"accepted_only": "true"})
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        generated = sorted(n for n in zf.namelist() if "__v" in n)
        accepted = {o["archive_path"].rsplit("/", 1)[-1] for o in outputs[:3]}
        assert {n.rsplit("/", 1)[-1] for n in generated if n.startswith("images/")} == accepted
        assert len(generated) == 6  # three images, three label files

    price = (await client.get(f"{API}/jobs/{job_id}/regenerate-rejected")).json()
    assert price == {"outputs": 2, "price_per_image": 0.0, "cost_usd": 0.0}
    r = await client.post(f"{API}/jobs/{job_id}/regenerate-rejected", json={"expected_outputs": 3})
    assert r.status_code == 409 and "2 outputs are rejected now" in error_of(r)["message"]
    before = {o["id"]: o for o in outputs}
    r = await client.post(f"{API}/jobs/{job_id}/regenerate-rejected", json={"expected_outputs": 2})
    assert r.json()["requeued"] == 2
    await _run(runtime, job_id)

    assert len(counting.seeds) == 8  # only the two rejected slots were asked again
    after = {o["id"]: o for o in await _outputs(client, job_id)}
    for oid in ids[3:5]:
        assert after[oid]["regenerations"] == 1 and after[oid]["review"] == "unreviewed"
        assert after[oid]["seed"] != before[oid]["seed"]
        assert after[oid]["status"] == "succeeded" and after[oid]["label_count"] == 2
    for oid in ids[:3] + ids[5:]:
        assert after[oid]["finished_at"] == before[oid]["finished_at"]
    assert [after[oid]["review"] for oid in ids[:3]] == ["accepted"] * 3
    assert after[ids[5]]["review"] == "unreviewed"


async def test_review_by_flag_and_bad_requests(
    client: httpx.AsyncClient, runtime: Runtime, counting: Counting
) -> None:
    job_id = await _labelled_job(client, runtime)
    r = await client.post(f"{API}/jobs/{job_id}/review", json={"decision": "rejected"})
    assert r.status_code == 422
    r = await client.post(
        f"{API}/jobs/{job_id}/review", json={"decision": "rejected", "output_ids": ["nope"]}
    )
    assert r.status_code == 422 and "not part of job" in error_of(r)["message"]
    r = await client.post(
        f"{API}/jobs/{job_id}/review", json={"decision": "maybe", "output_ids": []}
    )
    assert r.status_code == 422
    # classic flips are not flagged: rejecting flagged outputs changes nothing
    r = await client.post(f"{API}/jobs/{job_id}/review", json={"decision": "rejected", "flags": []})
    assert r.json()["updated"] == 0
    assert await _outputs(client, job_id, flag="any") == []
    r = await client.get(f"{API}/jobs/{job_id}/outputs", params={"flag": "bogus"})
    assert r.status_code == 422
    r = await client.post(f"{API}/jobs/{job_id}/regenerate-rejected")
    assert r.json()["requeued"] == 0
