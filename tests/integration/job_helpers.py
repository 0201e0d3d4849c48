"""Shared pieces for whole-job tests: uploads, runs, storage checks, a served API, and
settings for the RunPod executor against the fake RunPod cloud."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import uvicorn
from pydantic import SecretStr
from sqlalchemy import select

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.db.models import Output, OutputStatus
from bananabatch.ingest.dataset_items import create_dataset
from bananabatch.ingest.service import ingest_files
from bananabatch.runtime import Runtime, build_runtime
from tests.fakes.runpod_server import FakeRunPodServer


def runpod_settings(base: Settings, fake: FakeRunPodServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "executor": "runpod",
        "runpod_api_key": SecretStr(fake.api_key),
        "runpod_endpoint_id": fake.endpoint_id,
        "runpod_api_url": fake.api_url,
        "runpod_first_poll_seconds": 0.05,
        "concurrency": 16,
        "max_attempts": 4,
    }
    values.update(overrides)
    return base.model_copy(update=values)


def upload_folder(rt: Runtime, root: Path) -> str:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    with rt.session_factory() as s:
        ds = create_dataset(s, "photos")
        s.commit()
        handles: list[tuple[str, BinaryIO]] = [
            (p.relative_to(root).as_posix(), p.open("rb")) for p in files
        ]
        try:
            report = ingest_files(s, rt.storage, rt.settings, ds.id, handles)
        finally:
            for _, fh in handles:
                fh.close()
    assert report.errors == [] and len(report.accepted) == len(files)
    return ds.id


def upload_images(rt: Runtime, images: list[tuple[str, bytes]]) -> list[str]:
    handles: list[tuple[str, BinaryIO]] = [(name, io.BytesIO(data)) for name, data in images]
    with rt.session_factory() as s:
        report = ingest_files(s, rt.storage, rt.settings, None, handles)
    assert report.errors == [], report.errors
    return [f.asset_id for f in report.accepted]


async def run_jobs(rt: Runtime, *job_ids: str, limit: float = 240) -> None:
    await rt.start()
    try:
        await asyncio.wait_for(rt.orchestrator.wait_for_jobs(job_ids), limit)
    finally:
        await rt.orchestrator.stop()


def outputs_of(rt: Runtime, job_id: str) -> list[Output]:
    with rt.session_factory() as s:
        return list(
            s.scalars(select(Output).where(Output.job_id == job_id).order_by(Output.position))
        )


def assert_stored_exactly_once(rt: Runtime, job_id: str) -> list[Output]:
    """Every succeeded output has its image in storage, and nothing else is there."""
    outputs = outputs_of(rt, job_id)
    stored = {k for k in rt.storage.iter_keys(f"outputs/{job_id}") if "/thumbs/" not in k}
    expected = {o.storage_key for o in outputs if o.status == OutputStatus.succeeded}
    assert stored == expected
    assert all(o.storage_key is None for o in outputs if o.status != OutputStatus.succeeded)
    return outputs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[Runtime]:
    """This server's API on 127.0.0.1:port in a thread (workers fetch and upload here);
    the orchestrator is started and stopped by the test, not by the lifespan."""
    rt = build_runtime(settings)
    app = create_app(rt)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the API server did not start"
    try:
        yield rt
    finally:
        server.should_exit = True
        thread.join(timeout=10)
