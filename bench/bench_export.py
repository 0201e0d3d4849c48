"""Benchmark: streaming ZIP export throughput and memory.

Builds a synthetic finished automatic job (default 2,000 outputs of ~200 KB of
incompressible bytes, 4 variations per source, 5 classes) in a temporary data
dir with the real DB migrations and LocalStorage, then consumes
`stream_job_zip` like an HTTP response would and reports:

- planning time (DB snapshot + storage sizes, i.e. time to first byte),
- streaming throughput in MB/s,
- peak resident memory growth while streaming versus the archive size; the
  ratio must stay far below 1 (the archive is never held in memory).

With `--s3`, the images live in S3 instead: moto's server in a child process
on 127.0.0.1 (so its copy of the objects does not count in this process's RSS),
read through `S3Storage` exactly as in production.

Run: `.venv/bin/python -m bench.bench_export [--outputs N] [--size-kb K] [--originals] [--s3]`.
Not a test: numbers depend on the machine and its page cache.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.db.migrate import upgrade
from bananabatch.db.models import Asset, Batch, Job, Output, Task, new_id
from bananabatch.db.session import make_engine, make_session_factory
from bananabatch.export import ExportSelection, stream_job_zip
from bananabatch.export.folder import write_job_folder
from bananabatch.storage import LocalStorage, Storage
from bananabatch.storage.keys import asset_key, output_key

CLASSES = ("cat", "dog", "bird", "horse", "fish")
VARIATIONS = 4
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Current resident set size (not the lifetime peak, which setup would inflate)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


@dataclass(frozen=True)
class Result:
    outputs: int
    files: int
    archive_bytes: int
    declared_bytes: int | None
    plan_seconds: float
    stream_seconds: float
    peak_extra_rss: int
    folder_seconds: float = 0.0
    zip_extract_seconds: float = 0.0

    @property
    def mb_per_s(self) -> float:
        return self.archive_bytes / 1e6 / max(self.stream_seconds, 1e-9)

    @property
    def memory_ratio(self) -> float:
        return self.peak_extra_rss / max(self.archive_bytes, 1)


def build_job(
    factory: sessionmaker[Session],
    storage: Storage,
    outputs: int,
    size: int,
    originals: bool,
) -> str:
    """A finished automatic job whose images are written one at a time (never all in memory)."""
    sources = max(1, outputs // VARIATIONS)
    with factory() as session:
        job = Job(
            mode="automatic",
            name="bench export",
            provider="classic",
            model="classic",
            status="completed",
            include_originals=originals,
        )
        session.add(job)
        session.flush()
        batches = {}
        for pos, cls in enumerate(CLASSES):
            batches[cls] = Batch(job_id=job.id, position=pos, name=cls, slug=cls)
        session.add_all(batches.values())
        session.flush()
        position = 0
        for s in range(sources):
            cls = CLASSES[s % len(CLASSES)]
            rel = f"{cls}/{s:05d}.jpg"
            blob = os.urandom(size)
            sha = f"{s:064x}"
            key = asset_key(sha, "jpg")
            storage.put_bytes(key, blob)
            session.add(
                Asset(
                    id=sha,
                    mime_type="image/jpeg",
                    format="JPEG",
                    width=1024,
                    height=1024,
                    size_bytes=size,
                    storage_key=key,
                )
            )
            task = Task(
                job_id=job.id,
                batch_id=batches[cls].id,
                position=s // len(CLASSES),
                source_asset_id=sha,
                source_path=rel,
                status="done",
            )
            session.add(task)
            session.flush()
            for v in range(1, VARIATIONS + 1):
                if position >= outputs:
                    break
                out_id = new_id()
                key = output_key(job.id, out_id, "png")
                storage.put_bytes(key, os.urandom(size))
                session.add(
                    Output(
                        id=out_id,
                        job_id=job.id,
                        batch_id=batches[cls].id,
                        task_id=task.id,
                        position=position,
                        run_index=task.position,
                        variation=v,
                        source_asset_id=sha,
                        source_path=rel,
                        archive_path=f"{cls}/{s:05d}__v{v}.png",
                        prompt=f"a photo of a {cls}, variation {v}",
                        model="classic",
                        seed=position,
                        status="succeeded",
                        storage_key=key,
                        mime_type="image/png",
                        width=1024,
                        height=1024,
                    )
                )
                position += 1
            if s % 200 == 0:
                session.commit()
        session.commit()
        return job.id


@contextmanager
def s3_storage() -> Iterator[Storage]:
    """A fresh bucket on moto's server in a child process, with dummy credentials."""
    from tests.fakes.s3_server import ACCESS_KEY, REGION, SECRET_KEY, moto_process, raw_client

    from bananabatch.storage.s3 import S3Storage

    os.environ.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    with moto_process() as endpoint:
        raw_client(endpoint).create_bucket(Bucket="bench-export")
        yield S3Storage("bench-export", endpoint_url=endpoint, region=REGION)


@contextmanager
def local_storage(root: Path) -> Iterator[Storage]:
    yield LocalStorage(root)


def run(
    outputs: int = 2000, size_kb: int = 200, originals: bool = False, s3: bool = False
) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        try:
            with s3_storage() if s3 else local_storage(Path(tmp) / "store") as storage:
                job_id = build_job(factory, storage, outputs, size_kb * 1024, originals)
                result = _stream(factory, storage, job_id, outputs, originals)
                direct, via_zip = _folder(factory, storage, job_id, Path(tmp))
                return replace(result, folder_seconds=direct, zip_extract_seconds=via_zip)
        finally:
            engine.dispose()


def _stream(
    factory: sessionmaker[Session], storage: Storage, job_id: str, outputs: int, originals: bool
) -> Result:
    gc.collect()
    baseline = rss_bytes()
    peak = baseline
    t0 = time.perf_counter()
    _, chunks, declared = stream_job_zip(
        factory, storage, job_id, ExportSelection(), part_bytes=1 << 40
    )
    t1 = time.perf_counter()
    peak = max(peak, rss_bytes())
    total = 0
    for n, chunk in enumerate(chunks):
        total += len(chunk)
        if n % 8 == 0:
            peak = max(peak, rss_bytes())
    t2 = time.perf_counter()
    peak = max(peak, rss_bytes())
    files = outputs + (max(1, outputs // VARIATIONS) if originals else 0)
    return Result(
        outputs=outputs,
        files=files,
        archive_bytes=total,
        declared_bytes=declared,
        plan_seconds=t1 - t0,
        stream_seconds=t2 - t1,
        peak_extra_rss=peak - baseline,
    )


def _folder(
    factory: sessionmaker[Session], storage: Storage, job_id: str, root: Path
) -> tuple[float, float]:
    """`--out DIR` both ways, side by side: written directly (now) against a ZIP to a
    temporary file then extracted (before)."""
    t0 = time.perf_counter()
    write_job_folder(factory, storage, job_id, root / "direct")
    t1 = time.perf_counter()
    archive = root / "export.zip"
    _, chunks, _ = stream_job_zip(factory, storage, job_id, ExportSelection(), part_bytes=1 << 40)
    with archive.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root / "via-zip")
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def report(result: Result, console: Console) -> None:
    table = Table(title="streaming ZIP export")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("outputs / files", f"{result.outputs:,} / {result.files:,}")
    table.add_row("archive size", f"{result.archive_bytes / 1e6:,.1f} MB")
    table.add_row("declared size matches", str(result.declared_bytes == result.archive_bytes))
    table.add_row("plan (time to first byte)", f"{result.plan_seconds * 1000:,.0f} ms")
    table.add_row("stream time", f"{result.stream_seconds:,.2f} s")
    table.add_row("throughput", f"{result.mb_per_s:,.0f} MB/s")
    table.add_row("peak extra RSS", f"{result.peak_extra_rss / 1e6:,.1f} MB")
    table.add_row("peak extra RSS / archive bytes", f"{result.memory_ratio:.4f}")
    table.add_row("--out DIR, written directly", f"{result.folder_seconds:,.2f} s")
    table.add_row("--out DIR, ZIP then extract (before)", f"{result.zip_extract_seconds:,.2f} s")
    if result.folder_seconds > 0:
        ratio = result.zip_extract_seconds / result.folder_seconds
        table.add_row("direct folder speed-up", f"{ratio:.2f}x")
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--outputs", type=int, default=2000)
    parser.add_argument("--size-kb", type=int, default=200)
    parser.add_argument("--originals", action="store_true", help="include the source images")
    parser.add_argument("--s3", action="store_true", help="images in S3 (moto, child process)")
    args = parser.parse_args(argv)
    result = run(args.outputs, args.size_kb, args.originals, args.s3)
    report(result, Console())
    # Fail loudly (for bench.run_all) if the archive was buffered or mis-sized.
    ok = result.memory_ratio < 0.1 and result.declared_bytes == result.archive_bytes
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
