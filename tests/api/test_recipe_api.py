"""The job's recipe in the detail API, the reference warning before a job starts,
retry answers that name permanent failures, and refused files in the manifest."""

from __future__ import annotations

import io
import json
import zipfile

import httpx

from bananabatch.db.models import Output, OutputStatus
from bananabatch.runtime import Runtime
from tests.api.helpers import API, create_dataset, insert_job, photos, upload
from tests.badinput import jpeg_photo, text_named_png, truncated_jpeg

CSV = 'path,prompt\ncat/000.jpg,"a cat, at {time:night|dawn}"\ndog/000.jpg,a dog in snow\n'


async def test_automatic_recipe_carries_every_prompt_and_option(
    client: httpx.AsyncClient,
) -> None:
    ds = await create_dataset(client)
    r = await upload(client, ds, photos({"cat": 2, "dog": 1}))
    assert r.status_code in (200, 201), r.text
    body = {
        "mode": "automatic",
        "dataset_id": ds,
        "prompt": "the same {scene:street|beach}",
        "variations": 3,
        "seed": 4242,
        "per_class_prompts": {"dog": "a dog, {style:oil|ink}"},
        "prompts_csv": CSV,
        "options": {"aspect_ratio": "4:3", "output_format": "webp"},
    }
    r = await client.post(f"{API}/jobs", json=body)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    recipe = (await client.get(f"{API}/jobs/{job_id}")).json()["recipe"]
    assert recipe["mode"] == "automatic"
    assert recipe["prompt"] == "the same {scene:street|beach}"
    assert recipe["per_class_prompts"] == {"dog": "a dog, {style:oil|ink}"}
    assert recipe["per_image_prompt_count"] == 2
    assert recipe["per_image_prompts"][0] == {
        "path": "cat/000.jpg",
        "prompt": "a cat, at {time:night|dawn}",
    }
    assert recipe["seed"] == 4242 and recipe["variations"] == 3
    assert recipe["aspect_ratio"] == "4:3" and recipe["output_format"] == "webp"
    assert recipe["model"] == "classic" and recipe["model_name"].startswith("Classic")
    assert recipe["references"] == [] and recipe["reference_warning"] is None


async def test_classic_says_it_uses_only_the_first_reference_before_and_after(
    client: httpx.AsyncClient,
) -> None:
    refs = []
    for i in range(3):
        r = await upload(client, None, [(f"ref{i}.jpg", jpeg_photo(seed=50 + i))])
        assert r.status_code in (200, 201), r.text
        refs.append(r.json()["accepted"][0]["asset_id"])
    body = {
        "mode": "semi_auto",
        "model": "classic",
        "reference_asset_ids": refs,
        "prompts": [{"prompt": "a poster, {color:red|blue}", "count": 2}],
        "seed": 9,
    }
    est = (await client.post(f"{API}/jobs/estimate", json=body)).json()
    assert "only the first of the 3 reference images" in est["reference_warning"]
    assert est["reference_warning"] in est["warnings"]
    models = (await client.get(f"{API}/models")).json()
    classic = next(m for m in models if m["id"] == "classic")
    assert classic["used_reference_images"] == 1 and classic["max_reference_images"] == 14

    one = {**body, "reference_asset_ids": refs[:1]}
    assert (await client.post(f"{API}/jobs/estimate", json=one)).json()["reference_warning"] is None

    r = await client.post(f"{API}/jobs", json=body)
    assert r.status_code == 201, r.text
    recipe = r.json()["recipe"]
    assert [x["used"] for x in recipe["references"]] == [True, False, False]
    assert recipe["references_used"] == 1
    assert recipe["references"][0]["thumbnail_url"] == f"{API}/assets/{refs[0]}/thumbnail"
    thumb = await client.get(recipe["references"][0]["thumbnail_url"])
    assert thumb.status_code == 200
    assert recipe["prompts"] == [{"prompt": "a poster, {color:red|blue}", "count": 2}]
    assert "only the first" in recipe["reference_warning"]


async def test_retry_names_the_failures_that_will_fail_again(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    statuses = [OutputStatus.succeeded] + [OutputStatus.failed] * 3
    job = insert_job(runtime, statuses=statuses)
    with runtime.session_factory() as s:
        invalid = s.get_one(Output, job.failed[0])
        invalid.error_kind, invalid.error = "invalid", "the prompt is longer than the model takes"
        s.commit()
    detail = (await client.get(f"{API}/jobs/{job.job_id}")).json()
    assert detail["failures"]["permanent"] == 1 and detail["failures"]["retryable"] == 2
    assert detail["failures"]["groups"][0]["kind"] == "invalid"

    r = await client.post(f"{API}/jobs/{job.job_id}/retry-failed")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["requeued"] == 3 and answer["permanent"] == 1
    assert "1 of 3 failed output(s) will fail again" in answer["message"]
    assert "longer than the model takes" in answer["message"]

    r = await client.post(f"{API}/jobs/{job.job_id}/retry-failed")  # nothing left to retry
    assert r.json() == {**r.json(), "requeued": 0, "permanent": 0, "message": None}


async def test_manifest_lists_the_files_the_upload_refused(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client)
    files = [
        *photos({"cat": 2}),
        ("cat/notes.png", text_named_png()),
        ("cat/cut.jpg", truncated_jpeg()),
    ]
    r = await upload(client, ds, files)
    assert {e["rel_path"] for e in r.json()["errors"]} == {"cat/notes.png", "cat/cut.jpg"}
    body = {"mode": "automatic", "dataset_id": ds, "prompt": "snow", "seed": 1}
    job_id = (await client.post(f"{API}/jobs", json=body)).json()["id"]

    zf = zipfile.ZipFile(io.BytesIO((await client.get(f"{API}/jobs/{job_id}/export")).content))
    rows = [json.loads(x) for x in zf.read("manifest.jsonl").decode().splitlines()]
    refused = {r["source_path"]: r for r in rows if r["status"] == "refused"}
    assert set(refused) == {"cat/notes.png", "cat/cut.jpg"}
    assert refused["cat/notes.png"]["output_id"] == "" and refused["cat/notes.png"]["error"]
    assert "refused" in zf.read("manifest.csv").decode()

    # an upload that brings the file right takes it off the list
    await upload(client, ds, [("cat/cut.jpg", jpeg_photo(seed=77))])
    job2 = (await client.post(f"{API}/jobs", json=body)).json()["id"]
    zf = zipfile.ZipFile(io.BytesIO((await client.get(f"{API}/jobs/{job2}/export")).content))
    rows = [json.loads(x) for x in zf.read("manifest.jsonl").decode().splitlines()]
    assert [r["source_path"] for r in rows if r["status"] == "refused"] == ["cat/notes.png"]


async def test_a_too_long_prompt_is_refused_at_its_field_in_characters(
    client: httpx.AsyncClient,
) -> None:
    body = {"mode": "semi_auto", "model": "classic", "prompts": [{"prompt": "word " * 11_200}]}
    r = await client.post(f"{API}/jobs/estimate", json=body)
    assert r.status_code == 422
    detail = r.json()["error"]["details"][0]
    assert detail["field"] == "prompts[0].prompt"
    assert detail["message"] == "56,000 characters; the limit is 8,000. Shorten it."
