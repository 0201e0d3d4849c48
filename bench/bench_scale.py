"""Scale of a job: a 100,000-output automatic job (25,000 images x 4 variations)
created through the API (`POST /api/v1/jobs`, in-process ASGI), beside a raw sqlite3
`executemany` of the same rows into the same schema, measured in one run.

Figures: creation time ÷ raw insert time (target ≤ 1.5x; the same ratio of CPU time
beside it, steadier on a shared machine) and the Python memory the
creation allocates at its peak (tracemalloc, measured on a second, separate run
because tracing slows it; target < 100 MB).

Run: .venv/bin/python -m bench.bench_scale [--images 25000] [--variations 4]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from bananabatch.api.app import create_app
from bananabatch.config import Settings
from bananabatch.datasets.service import label_summary
from bananabatch.db.migrate import upgrade
from bananabatch.db.models import (
    Asset,
    Dataset,
    DatasetItem,
    Job,
    Output,
    Task,
    TaskStatus,
    utcnow,
)
from bananabatch.orchestrator.claim import RUNNABLE_JOB_STATUSES, runnable_jobs
from bananabatch.orchestrator.job_state import refresh_job
from bananabatch.runtime import Runtime, build_runtime

log = logging.getLogger("bench.scale")


def _dataset(rt: Runtime, images: int) -> str:
    """A class-folder dataset of `images` items, written straight to the DB (the bench
    is about job creation, not uploads), then analysed as the end of an upload analyses
    it: a job created from an uploaded dataset finds its label summary made."""
    with rt.session_factory() as s:
        ds = Dataset(name="scale")
        s.add(ds)
        s.flush()
        now = utcnow()
        assets = [
            {
                "id": uuid.uuid4().hex * 2,
                "mime_type": "image/jpeg",
                "format": "JPEG",
                "width": 64,
                "height": 48,
                "size_bytes": 1000,
                "storage_key": f"assets/{i}.jpg",
                "created_at": now,
            }
            for i in range(images)
        ]
        s.execute(insert(Asset), assets)
        s.execute(
            insert(DatasetItem),
            [
                {
                    "dataset_id": ds.id,
                    "asset_id": a["id"],
                    "rel_path": f"class{i % 10}/{i:06d}.jpg",
                    "folder": f"class{i % 10}",
                    "created_at": now,
                }
                for i, a in enumerate(assets)
            ],
        )
        s.commit()
        label_summary(s, rt.storage, ds.id)
        return ds.id


def _create(client: TestClient, dataset_id: str, variations: int) -> tuple[float, float, int]:
    body = {
        "mode": "automatic",
        "dataset_id": dataset_id,
        "prompt": "the same {class}, {winter|summer|autumn} light",
        "variations": variations,
        "model": "classic",
    }
    started, cpu = time.perf_counter(), time.process_time()
    r = client.post("/api/v1/jobs", json=body)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    r.raise_for_status()
    return elapsed, cpu, int(r.json()["total_outputs"])


def _raw_insert(root: Path, images: int, variations: int) -> tuple[float, float]:
    """The same rows (1 batch per class, 1 task per image, 1 output per variation)
    through sqlite3 executemany in one transaction: the floor for this schema."""
    db = root / "raw.db"
    upgrade(f"sqlite:///{db}")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    now = utcnow().isoformat(sep=" ")
    job = uuid.uuid4().hex
    started, cpu = time.perf_counter(), time.process_time()
    conn.execute(
        "insert into jobs (id, mode, name, provider, model, status, priority, seed, spec, "
        "options, reference_asset_ids, include_originals, total_outputs, total_tasks, "
        "cost_estimate, cost_actual, revision, route, created_at, updated_at) values "
        "(?, 'automatic', 'raw', 'classic', 'classic', 'queued', 0, 1, '{}', '{}', '[]', 0, "
        "?, ?, 0, 0, 0, 'standard', ?, ?)",
        (job, images * variations, images, now, now),
    )
    batches = [(uuid.uuid4().hex, job, i, f"class{i}", f"class{i}", "", 0) for i in range(10)]
    conn.executemany(
        "insert into batches (id, job_id, position, name, slug, prompt, count) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        batches,
    )
    tasks: list[tuple[Any, ...]] = []
    outputs: list[tuple[Any, ...]] = []
    for i in range(images):
        task = uuid.uuid4().hex
        batch = batches[i % 10][0]
        tasks.append((task, job, batch, i, "a" * 64, f"class{i % 10}/{i:06d}.jpg", now))
        for v in range(variations):
            outputs.append(
                (
                    uuid.uuid4().hex,
                    job,
                    batch,
                    task,
                    v,
                    i,
                    v + 1,
                    "a" * 64,
                    f"class{i % 10}/{i:06d}.jpg",
                    f"class{i % 10}/{i:06d}_v{v + 1}.png",
                    "the same class, winter light",
                    "classic",
                    i * 7 + v,
                    now,
                )
            )
    conn.executemany(
        "insert into tasks (id, job_id, batch_id, position, source_asset_id, source_path, "
        "status, attempts, created_at) values (?, ?, ?, ?, ?, ?, 'queued', 0, ?)",
        tasks,
    )
    conn.executemany(
        "insert into outputs (id, job_id, batch_id, task_id, position, run_index, variation, "
        "source_asset_id, source_path, archive_path, prompt, model, seed, attempt, status, "
        "input_tokens, output_tokens, cost, review, created_at) values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'pending', 0, 0, 0, 'unreviewed', ?)",
        outputs,
    )
    conn.commit()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return elapsed, cpu


def _round_ms(rt: Runtime, rounds: int = 20) -> dict[str, tuple[float, float]]:
    """What a settle-and-claim round reads of the new job (every output pending), now
    and as every round did before, in ms per round: the job refresh (it counted the
    whole job) and the claim's ready tasks (it counted them all, not a room's worth)."""

    def per_round(fn: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        return (time.perf_counter() - started) * 1000 / rounds

    ready = (Task.status == TaskStatus.queued, Task.not_before.is_(None))
    with rt.session_factory() as s:
        job = s.scalars(select(Job)).one()
        count = select(Output.status, func.count()).where(Output.job_id == job.id)
        tasks = (
            select(Task.job_id, Job.priority, func.count())
            .join(Job, Job.id == Task.job_id)
            .where(*ready, Job.status.in_(RUNNABLE_JOB_STATUSES))
            .group_by(Task.job_id, Job.priority)
        )
        figures = {
            "job refresh": (
                per_round(lambda: refresh_job(s, job)),
                per_round(lambda: s.execute(count.group_by(Output.status)).all()),
            ),
            "claim's ready tasks": (
                per_round(lambda: runnable_jobs(s, ready, 64)),
                per_round(lambda: s.execute(tasks).all()),
            ),
        }
        s.rollback()
    return figures


def _measure(
    root: Path, images: int, variations: int, trace: bool
) -> tuple[float, float, int, float, dict[str, tuple[float, float]]]:
    rt = build_runtime(Settings(data_dir=root, provider="classic"))
    try:
        dataset_id = _dataset(rt, images)
        # no `with`: the app's lifespan (the orchestrator) is not started, so the job is
        # only created, never run
        client = TestClient(create_app(rt), base_url="http://127.0.0.1")
        if trace:
            tracemalloc.start()
        elapsed, cpu, outputs = _create(client, dataset_id, variations)
        peak = tracemalloc.get_traced_memory()[1] / 1e6 if trace else 0.0
        if trace:
            tracemalloc.stop()
        return elapsed, cpu, outputs, peak, {} if trace else _round_ms(rt)
    finally:
        asyncio.run(rt.stop())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=25_000)
    parser.add_argument("--variations", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw, raw_cpu = _raw_insert(root, args.images, args.variations)
        api, api_cpu, outputs, _, rounds = _measure(
            root / "a", args.images, args.variations, trace=False
        )
        _, _, _, peak, _ = _measure(root / "b", args.images, args.variations, trace=True)
    print(f"job of {outputs:,} outputs ({args.images:,} images x {args.variations})")
    print(f"raw sqlite3 insert of the same rows: {raw:.2f} s")
    print(f"POST /api/v1/jobs:                   {api:.2f} s")
    print(f"ratio API / raw insert: {api / raw:.2f}x (target <= 1.5x)")
    # CPU seconds of this process: on a shared machine wall time also counts the
    # other processes' turns, CPU time much less so
    print(f"CPU: raw {raw_cpu:.2f} s, API {api_cpu:.2f} s, ratio {api_cpu / raw_cpu:.2f}x")
    print(f"peak Python memory during creation: {peak:.0f} MB (target < 100 MB)")
    for what, (now, before) in rounds.items():
        print(
            f"a round's {what} on it: {now:.2f} ms (counting them all, as every round "
            f"did before: {before:.2f} ms, {before / max(now, 1e-6):.0f}x)"
        )


if __name__ == "__main__":
    main()
