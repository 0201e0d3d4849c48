"""Housekeeping over HTTP: the dataset library (list, rename, usage, delete), the end
of an upload (no empty dataset left, an identical upload reuses the stored one), job
delete with the space it frees, and a job's recipe for "duplicate job". Bad ids and
refused actions answer 404/409/422 with a message, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bananabatch.db.models import Asset, SpendEntry
from bananabatch.runtime import Runtime
from bananabatch.storage.keys import output_key, output_thumb_key
from tests.api.helpers import API, create_dataset, error_of, photos, upload


@pytest.fixture(autouse=True)
def no_orchestrator(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The orchestrator is not running here: jobs stay queued until cancelled."""
    monkeypatch.setattr(runtime.orchestrator, "wake", lambda: None)


async def _uploaded(
    client: httpx.AsyncClient, files: list[tuple[str, bytes]], name: str = "photos"
) -> dict[str, Any]:
    ds = await create_dataset(client, name)
    r = await upload(client, ds, files)
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/datasets/{ds}/complete")
    assert r.status_code == 200, r.text
    done: dict[str, Any] = r.json()
    return done


async def _job(client: httpx.AsyncClient, dataset_id: str, **extra: Any) -> str:
    body = {"mode": "automatic", "dataset_id": dataset_id, "prompt": "at {dawn|dusk}", **extra}
    r = await client.post(f"{API}/jobs", json=body)
    assert r.status_code == 201, r.text
    job_id: str = r.json()["id"]
    return job_id


async def test_the_library_lists_counts_classes_format_size_and_jobs(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    files = photos({"cat": 3, "dog": 2})
    done = await _uploaded(client, files, "pets")
    assert done["outcome"] == "kept" and done["id"] == done["uploaded_id"]
    await _job(client, done["id"])
    (item,) = (await client.get(f"{API}/datasets")).json()["items"]
    assert item["name"] == "pets" and item["item_count"] == 5
    assert item["classes"] == ["cat", "dog"]
    assert item["label_format"] == "folders"
    assert item["size_bytes"] == sum(len(data) for _, data in files)
    assert item["job_count"] == 1

    page = (await client.get(f"{API}/datasets/{done['id']}/items", params={"limit": 2})).json()
    assert [i["rel_path"] for i in page["items"]] == ["cat/000.jpg", "cat/001.jpg"]
    assert page["items"][0]["thumbnail_url"] and page["next_cursor"]


async def test_rename_trims_and_refuses_bad_names(client: httpx.AsyncClient) -> None:
    ds = (await _uploaded(client, photos({"cat": 1})))["id"]
    r = await client.patch(f"{API}/datasets/{ds}", json={"name": "  Holiday photos "})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Holiday photos" and r.json()["item_count"] == 1
    for bad in ({"name": "   "}, {"name": "x" * 300}, {"name": 5}, {}):
        r = await client.patch(f"{API}/datasets/{ds}", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert error_of(r)["message"]
    r = await client.patch(f"{API}/datasets/nope", json={"name": "a"})
    assert r.status_code == 404


async def test_an_upload_that_kept_nothing_leaves_no_dataset(client: httpx.AsyncClient) -> None:
    ds = await create_dataset(client, "notes")
    r = await upload(client, ds, [("a/readme.jpg", b"not an image"), ("b.png", b"nope")])
    assert r.status_code == 200 and len(r.json()["errors"]) == 2
    r = await client.post(f"{API}/datasets/{ds}/complete")
    assert r.status_code == 200
    body = r.json()
    assert body["outcome"] == "removed" and body["id"] is None
    assert "No image of the upload could be used" in body["message"]
    assert (await client.get(f"{API}/datasets")).json()["items"] == []
    assert (await client.get(f"{API}/datasets/{ds}")).status_code == 404


async def test_uploading_the_same_folder_again_reuses_the_dataset(
    client: httpx.AsyncClient,
) -> None:
    files = photos({"cat": 2, "dog": 1})
    first = await _uploaded(client, files, "first")
    again = await _uploaded(client, list(reversed(files)), "second")
    assert again["outcome"] == "reused" and again["id"] == first["id"]
    assert again["uploaded_id"] != first["id"] and again["name"] == "first"
    assert "already stored" in again["message"]
    listing = (await client.get(f"{API}/datasets")).json()["items"]
    assert [d["id"] for d in listing] == [first["id"]]

    # Same images at other paths, or one image fewer: a different dataset, kept.
    moved = [(f"other/{name}", data) for name, data in files]
    assert (await _uploaded(client, moved))["outcome"] == "kept"
    assert (await _uploaded(client, files[:2]))["outcome"] == "kept"
    assert len((await client.get(f"{API}/datasets")).json()["items"]) == 3


async def test_delete_is_refused_while_jobs_use_the_dataset(client: httpx.AsyncClient) -> None:
    ds = (await _uploaded(client, photos({"cat": 2})))["id"]
    job = await _job(client, ds, name="night shots")
    usage = (await client.get(f"{API}/datasets/{ds}/usage")).json()
    assert [j["id"] for j in usage["jobs"]] == [job]
    assert usage["freed_bytes_if_deleted"] == 0  # its job still needs every image
    r = await client.delete(f"{API}/datasets/{ds}")
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "conflict" and "night shots" in err["message"]
    assert err["details"]["jobs"] == [job]


async def test_delete_frees_only_blobs_no_one_else_uses(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shared, own = photos({"cat": 2}), photos({"dog": 1}, seed=50)
    keep = (await _uploaded(client, shared, "keep"))["id"]
    gone = (await _uploaded(client, shared + own, "gone"))["id"]
    own_sha = (await client.get(f"{API}/datasets/{gone}/items")).json()["items"][-1]["asset_id"]
    with runtime.session_factory() as s:
        own_asset = s.get(Asset, own_sha)
        assert own_asset is not None
        own_keys = [own_asset.storage_key, own_asset.thumb_key]
    thumb_size = runtime.storage.size(str(own_keys[1]))

    usage = (await client.get(f"{API}/datasets/{gone}/usage")).json()
    assert usage["jobs"] == [] and usage["item_count"] == 3
    assert usage["freed_bytes_if_deleted"] == len(own[0][1])

    r = await client.delete(f"{API}/datasets/{gone}")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": gone,
        "name": "gone",
        "images": 3,
        "freed_files": 2,
        "freed_bytes": len(own[0][1]) + thumb_size,
    }
    assert not any(runtime.storage.exists(str(k)) for k in own_keys)
    # The images the other dataset holds are untouched and still served.
    for item in (await client.get(f"{API}/datasets/{keep}/items")).json()["items"]:
        assert (await client.get(item["image_url"])).status_code == 200
    assert (await client.delete(f"{API}/datasets/{gone}")).status_code == 404


async def test_job_delete_refuses_a_running_job_then_frees_its_files(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ds = (await _uploaded(client, photos({"cat": 2})))["id"]
    job = await _job(client, ds)
    r = await client.delete(f"{API}/jobs/{job}")
    assert r.status_code == 409
    assert "cancel it first" in error_of(r)["message"]
    storage = (await client.get(f"{API}/jobs/{job}/storage")).json()
    assert storage["deletable"] is False and "cancel it first" in storage["reason"]

    assert (await client.post(f"{API}/jobs/{job}/cancel")).status_code == 200
    runtime.storage.put_bytes(output_key(job, "o1", "png"), b"x" * 1000)
    runtime.storage.put_bytes(output_thumb_key(job, "o1"), b"t" * 100)
    with runtime.session_factory() as s:
        s.add(SpendEntry(job_id=job, model="classic", outcome="image", cost=0.5))
        s.commit()
    storage = (await client.get(f"{API}/jobs/{job}/storage")).json()
    assert storage == {
        "id": job,
        "name": storage["name"],
        "status": "cancelled",
        "files": 2,
        "bytes": 1100,
        "deletable": True,
        "reason": None,
    }
    r = await client.delete(f"{API}/jobs/{job}")
    assert r.status_code == 200, r.text
    assert r.json()["freed_files"] == 2 and r.json()["freed_bytes"] == 1100
    assert list(runtime.storage.iter_keys(f"outputs/{job}")) == []
    assert (await client.get(f"{API}/jobs/{job}")).status_code == 404
    assert (await client.delete(f"{API}/jobs/{job}")).status_code == 404
    # What was paid stays in the ledger; the dataset is free to delete now.
    spend = (await client.get(f"{API}/spend", params={"group_by": "job"})).json()
    assert spend["total"] == 0.5 and spend["rows"][0]["label"] == "(deleted jobs)"
    assert (await client.delete(f"{API}/datasets/{ds}")).status_code == 200


async def test_the_recipe_recreates_the_job(client: httpx.AsyncClient) -> None:
    ds = (await _uploaded(client, photos({"cat": 2, "dog": 1})))["id"]
    job = await _job(
        client,
        ds,
        name="dusk",
        variations=3,
        per_class_prompts={"dog": "a dog at {dawn|dusk}"},
        options={"output_format": "webp"},
    )
    detail = (await client.get(f"{API}/jobs/{job}")).json()
    r = await client.get(f"{API}/jobs/{job}/recipe")
    assert r.status_code == 200, r.text
    recipe = r.json()
    assert recipe["mode"] == "automatic" and recipe["dataset_id"] == ds
    assert recipe["name"] == "dusk (copy)" and recipe["variations"] == 3
    assert recipe["per_class_prompts"] == {"dog": "a dog at {dawn|dusk}"}
    assert recipe["options"]["output_format"] == "webp"
    assert recipe["seed"] == detail["seed"]
    again = await client.post(f"{API}/jobs", json=recipe)
    assert again.status_code == 201, again.text
    assert again.json()["total_outputs"] == detail["total_outputs"]


async def test_a_semi_auto_recipe_keeps_prompts_and_references(client: httpx.AsyncClient) -> None:
    r = await upload(client, None, [("ref.jpg", photos({"": 1})[0][1])])
    ref = r.json()["accepted"][0]["asset_id"]
    body = {
        "mode": "semi_auto",
        "reference_asset_ids": [ref],
        "prompts": [{"prompt": "a red bike", "count": 5}],
    }
    job = (await client.post(f"{API}/jobs", json=body)).json()["id"]
    recipe = (await client.get(f"{API}/jobs/{job}/recipe")).json()
    assert recipe["reference_asset_ids"] == [ref]
    assert recipe["prompts"] == [{"prompt": "a red bike", "count": 5}]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs/nope/recipe"),
        ("GET", "/jobs/nope/storage"),
        ("DELETE", "/jobs/nope"),
        ("GET", "/datasets/nope/usage"),
        ("DELETE", "/datasets/nope"),
        ("POST", "/datasets/nope/complete"),
    ],
)
async def test_unknown_ids_are_404(client: httpx.AsyncClient, method: str, path: str) -> None:
    r = await client.request(method, f"{API}{path}")
    assert r.status_code == 404, r.text
    assert error_of(r)["code"] == "not_found"


async def test_hostile_ids_are_refused_before_any_lookup(client: httpx.AsyncClient) -> None:
    for path in ("/jobs/..%2F..%2Fetc/recipe", "/datasets/a%20b", "/jobs/x%00y"):
        r = await client.delete(f"{API}{path}")
        assert r.status_code in (404, 422), (path, r.text)


async def test_completing_an_upload_a_job_already_uses_keeps_it(
    client: httpx.AsyncClient,
) -> None:
    files = photos({"cat": 2})
    first = (await _uploaded(client, files))["id"]
    ds = await create_dataset(client, "copy")
    assert (await upload(client, ds, files)).status_code == 200
    await _job(client, ds)  # started before the upload was completed
    r = await client.post(f"{API}/datasets/{ds}/complete")
    assert r.json()["outcome"] == "kept" and r.json()["id"] == ds != first
