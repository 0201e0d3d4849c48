"""Streaming ZIP export with the images in S3 (moto in server mode): read back with
`zipfile`, CRCs checked, and memory bounded while a 50 MB object streams through."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.export import ExportSelection, stream_job_zip
from bananabatch.export.readahead import READ_AHEAD, ReadAhead
from bananabatch.storage.s3 import MULTIPART_CHUNK_BYTES, UPLOAD_THREADS, S3Storage
from tests.fakes.s3_server import REGION, S3Bucket
from tests.integration.test_export import (
    build_automatic_job,
    build_semi_auto_job,
    db_outputs,
    export,
    image_names,
    read_manifests,
)

log = logging.getLogger(__name__)
MiB = 1024 * 1024


def test_export_of_a_job_in_s3(
    db: Session, s3_storage: S3Storage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, s3_storage, include_originals=True)
    _, zf, data, length = export(session_factory, s3_storage, built.job_id)
    assert length == len(data)
    assert zf.testzip() is None  # every CRC checks out
    assert image_names(zf) == {
        "cat/001.jpg",
        "cat/001__v1.png",
        "cat/001__v2.png",
        "cat/002.jpg",
        "cat/002__v1.png",
        "dog/001.jpg",
    }
    for out in db_outputs(db, built.job_id):
        if out.status == "succeeded":
            assert zf.read(out.archive_path) == s3_storage.get_bytes(out.storage_key or "")
    for src, original in built.originals.items():
        assert zf.read(src) == original
    jsonl, _ = read_manifests(zf)
    assert len(jsonl) == 6


def test_an_object_missing_from_the_bucket_becomes_a_manifest_row(
    db: Session, s3_storage: S3Storage, session_factory: sessionmaker[Session]
) -> None:
    built = build_semi_auto_job(db, s3_storage, count=3)
    gone = next(o for o in db_outputs(db, built.job_id) if o.status == "succeeded")
    s3_storage.delete(gone.storage_key or "")
    _, zf, _, _ = export(session_factory, s3_storage, built.job_id)
    assert zf.testzip() is None
    assert gone.archive_path not in zf.namelist()
    rows = {r["output_id"]: r for r in read_manifests(zf)[0]}
    assert rows[gone.id]["error"] == "image missing from storage"


def _write_random(path: Path, size: int) -> str:
    """A file of `size` random bytes, written a MiB at a time; its sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        for _ in range(size // MiB):
            block = os.urandom(MiB)
            digest.update(block)
            fh.write(block)
    return digest.hexdigest()


@pytest.fixture
def process_storage(s3_process_bucket: S3Bucket) -> S3Storage:
    """S3 served by a child process: this process's memory is the client's alone."""
    return S3Storage(
        s3_process_bucket.name, endpoint_url=s3_process_bucket.endpoint_url, region=REGION
    )


def _consume(chunks: Iterator[bytes], dest: Path) -> int:
    total = 0
    with dest.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
            total += len(chunk)
    return total


@pytest.mark.slow
def test_a_50_mb_object_streams_with_bounded_memory(
    db: Session,
    process_storage: S3Storage,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    size = 50 * MiB
    source = tmp_path / "big.png"
    sha = _write_random(source, size)
    built = build_semi_auto_job(db, process_storage, count=2)
    big = next(o for o in db_outputs(db, built.job_id) if o.status == "succeeded")

    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        with source.open("rb") as fh:
            assert process_storage.put_file(big.storage_key or "", fh) == size
        upload_seconds = time.perf_counter() - t0
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()

        t0 = time.perf_counter()
        _, chunks, length = stream_job_zip(
            session_factory, process_storage, built.job_id, ExportSelection(), part_bytes=1 << 40
        )
        written = _consume(chunks, tmp_path / "export.zip")
        export_seconds = time.perf_counter() - t0
        _, export_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    log.warning(
        "50 MiB via S3 (moto, another process): put_file %.2f s, peak %.1f MiB traced; "
        "export %.2f s (%.0f MB/s), peak %.1f MiB traced",
        upload_seconds,
        upload_peak / MiB,
        export_seconds,
        written / 1e6 / export_seconds,
        export_peak / MiB,
    )
    assert length == written
    assert export_peak < 8 * MiB, f"export held {export_peak / MiB:.1f} MiB"
    # put_file holds the parts in flight plus the one being read, whatever the size.
    parts_bound = (UPLOAD_THREADS + 1) * MULTIPART_CHUNK_BYTES + 6 * MiB
    assert upload_peak < min(parts_bound, size), f"put_file held {upload_peak / MiB:.1f} MiB"
    with zipfile.ZipFile(tmp_path / "export.zip") as zf:
        assert zf.testzip() is None
        with zf.open(big.archive_path) as member:
            digest = hashlib.sha256()
            while block := member.read(MiB):
                digest.update(block)
        assert digest.hexdigest() == sha


def test_export_reads_objects_only_as_the_stream_reaches_them(
    db: Session, s3_storage: S3Storage, session_factory: sessionmaker[Session]
) -> None:
    """Nothing is downloaded before the first byte goes out; each image is fetched
    once, at most READ_AHEAD opens ahead of the one being streamed."""
    built = build_semi_auto_job(db, s3_storage, count=11)
    for out in db_outputs(db, built.job_id):
        if out.storage_key:  # bigger than one stream chunk each
            s3_storage.put_bytes(out.storage_key, os.urandom(300_000))
    gets: list[str] = []
    s3_storage._client.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **kw: gets.append(params["Key"])
    )
    _, chunks, _ = stream_job_zip(
        session_factory, s3_storage, built.job_id, ExportSelection(), part_bytes=1 << 40
    )
    assert gets == []  # planned (sizes by HEAD) but nothing read yet
    received = bytearray()
    opened_at_first_chunk: int | None = None
    for chunk in chunks:
        received += chunk
        if opened_at_first_chunk is None:
            opened_at_first_chunk = len(gets)
    # the first object and up to READ_AHEAD opens ahead of it, issued on a pool of
    # READ_AHEAD threads: how many have started by the first chunk is the threads' race
    assert opened_at_first_chunk is not None
    assert 1 <= opened_at_first_chunk <= 1 + READ_AHEAD
    assert len(gets) == 10 and len(set(gets)) == 10  # each image once
    with zipfile.ZipFile(io.BytesIO(bytes(received))) as zf:
        assert zf.testzip() is None


def test_an_abandoned_export_releases_what_it_opened_ahead(
    db: Session,
    s3_storage: S3Storage,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = build_semi_auto_job(db, s3_storage, count=8)
    for out in db_outputs(db, built.job_id):
        if out.storage_key:
            s3_storage.put_bytes(out.storage_key, os.urandom(300_000))
    closes: list[int] = []
    original_close = ReadAhead.close

    def recording_close(self: ReadAhead) -> None:
        closes.append(len(self._pending))
        original_close(self)

    monkeypatch.setattr(ReadAhead, "close", recording_close)
    _, chunks, _ = stream_job_zip(
        session_factory, s3_storage, built.job_id, ExportSelection(), part_bytes=1 << 40
    )
    next(chunks)
    assert closes == []
    chunks.close()  # what a server does when the client goes away
    assert closes == [READ_AHEAD]  # the objects opened ahead were released
