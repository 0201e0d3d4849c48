"""Helpers for API tests: uploads over HTTP and jobs with finished outputs put
straight into the DB and storage (no orchestrator needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bananabatch.db.models import (
    Asset,
    Batch,
    Job,
    JobStatus,
    Output,
    OutputStatus,
    Task,
    TaskStatus,
    new_id,
    utcnow,
)
from bananabatch.ingest.thumbnails import make_thumbnail
from bananabatch.runtime import Runtime
from bananabatch.storage.keys import output_key, output_thumb_key
from tests.badinput import jpeg_photo, png_image

BASE_URL = "http://127.0.0.1:8000"
API = "/api/v1"


async def create_dataset(client: httpx.AsyncClient, name: str = "photos") -> str:
    r = await client.post(f"{API}/datasets", json={"name": name})
    assert r.status_code == 201, r.text
    dataset_id: str = r.json()["id"]
    return dataset_id


async def upload(
    client: httpx.AsyncClient,
    dataset_id: str | None,
    files: list[tuple[str, bytes]],
    *,
    as_paths: bool = False,
) -> httpx.Response:
    """Multipart upload; the relative path goes in the filename, or in `paths` fields."""
    url = f"{API}/datasets/{dataset_id}/files" if dataset_id else f"{API}/assets"
    parts = [
        ("files", (name.rsplit("/", 1)[-1] if as_paths else name, data, "application/octet-stream"))
        for name, data in files
    ]
    data = {"paths": [name for name, _ in files]} if as_paths else None
    return await client.post(url, files=parts, data=data)


def photos(classes: dict[str, int], seed: int = 0) -> list[tuple[str, bytes]]:
    out = []
    for cls, n in classes.items():
        for i in range(n):
            seed += 1
            name = f"{cls}/{i:03d}.jpg" if cls else f"{i:03d}.jpg"
            out.append((name, jpeg_photo(seed=seed)))
    return out


@dataclass
class FinishedJob:
    job_id: str
    batch_ids: list[str]
    output_ids: list[str]
    succeeded: list[str]
    failed: list[str]
    pending: list[str]


def insert_job(
    rt: Runtime,
    *,
    statuses: list[OutputStatus],
    job_status: JobStatus = JobStatus.completed_with_errors,
    name: str = "inserted",
    source_asset: Asset | None = None,
    priority: int = 0,
    model: str = "classic",
) -> FinishedJob:
    """A semi-automatic job with one batch and outputs in the given states; succeeded
    ones get a real PNG (and thumbnail) in storage."""
    job_id, batch_id = new_id(), new_id()
    outputs: list[Output] = []
    with rt.session_factory() as s:
        s.add(
            Job(
                id=job_id,
                mode="semi_auto",
                name=name,
                provider="classic" if model == "classic" else "gemini",
                model=model,
                status=job_status,
                priority=priority,
                seed=1,
                spec={"mode": "semi_auto"},
                options={"output_format": "png"},
                total_outputs=len(statuses),
                total_tasks=1,
            )
        )
        s.flush()
        s.add(
            Batch(id=batch_id, job_id=job_id, position=0, name="a prompt", slug="01-a-prompt",
                  prompt="a prompt", count=len(statuses))
        )  # fmt: skip
        task = Task(id=new_id(), job_id=job_id, batch_id=batch_id, position=0,
                    status=TaskStatus.done)  # fmt: skip
        s.add(task)
        s.flush()
        for i, st in enumerate(statuses):
            oid = new_id()
            o = Output(
                id=oid,
                job_id=job_id,
                batch_id=batch_id,
                task_id=task.id,
                position=i,
                run_index=i // 4,
                variation=i + 1,
                archive_path=f"01-a-prompt/run-{i // 4 + 1:03d}/image-{i % 4 + 1}.png",
                prompt="a prompt",
                model=model,
                seed=100 + i,
                status=st,
                source_asset_id=source_asset.id if source_asset else None,
                source_path="cat/001.jpg" if source_asset else None,
            )
            if st == OutputStatus.succeeded:
                data = png_image((24, 16), seed=200 + i)
                key = output_key(job_id, oid, "png")
                rt.storage.put_bytes(key, data)
                rt.storage.put_bytes(output_thumb_key(job_id, oid), make_thumbnail(data))
                o.storage_key = key
                o.mime_type = "image/png"
                o.width, o.height = 24, 16
                o.finished_at = utcnow()
                o.cost = 0.0
            elif st in (OutputStatus.failed, OutputStatus.blocked):
                o.error_kind = "blocked" if st == OutputStatus.blocked else "transient"
                o.error = "the provider refused"
                o.finished_at = utcnow()
            s.add(o)
            outputs.append(o)
        s.commit()
    return FinishedJob(
        job_id=job_id,
        batch_ids=[batch_id],
        output_ids=[o.id for o in outputs],
        succeeded=[o.id for o in outputs if o.status == OutputStatus.succeeded],
        failed=[o.id for o in outputs if o.status == OutputStatus.failed],
        pending=[o.id for o in outputs if o.status == OutputStatus.pending],
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON error envelope, checked for shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    err: dict[str, Any] = body["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert isinstance(err["message"], str) and err["message"]
    return err
