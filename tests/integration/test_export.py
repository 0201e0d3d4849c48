"""Streaming ZIP export read back with `zipfile`: layout, CRCs, stored images,
manifests against the DB, filters, originals, mid-run exports, parts and ZIP64.

Jobs are built directly as DB rows plus storage objects (no orchestrator)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

import pytest
from PIL import Image
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.db.models import (
    Asset,
    Batch,
    Dataset,
    DatasetItem,
    Job,
    Output,
    Task,
    new_id,
)
from bananabatch.errors import NotFound, ValidationFailed
from bananabatch.export import (
    MANIFEST_FIELDS,
    ExportEntry,
    ExportSelection,
    iter_export_entries,
    manifest_row,
    plan_parts,
    stream_job_zip,
    zip_entries,
)
from bananabatch.storage import LocalStorage, Storage
from bananabatch.storage.keys import asset_key, output_key

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

BIG = 1 << 40  # a part size nothing reaches


def noise_image(fmt: str, side: int = 48) -> bytes:
    """Incompressible-ish image bytes, different on every call."""
    im = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


@dataclass
class BuiltJob:
    job_id: str
    batch_ids: dict[str, str]  # batch name -> id
    output_ids: dict[tuple[str, int], str]  # (source path or run label, variation) -> id
    originals: dict[str, bytes] = field(default_factory=dict)  # source path -> asset bytes


# Default outcome of each (source, variation): everything succeeded except these.
AUTO_OUTCOMES: dict[tuple[str, int], tuple[str, str | None]] = {
    ("cat/002.jpg", 2): ("pending", None),
    ("dog/001.jpg", 1): ("failed", "provider returned 500 four times"),
    ("dog/001.jpg", 2): ("blocked", "safety: blocked by the model"),
}


def build_automatic_job(
    db: Session,
    storage: Storage,
    *,
    sources: tuple[str, ...] = ("cat/001.jpg", "cat/002.jpg", "dog/001.jpg"),
    variations: int = 2,
    outcomes: dict[tuple[str, int], tuple[str, str | None]] | None = None,
    include_originals: bool = False,
    normalised_png: frozenset[str] = frozenset(),
    image_side: int = 48,
) -> BuiltJob:
    """A dataset job: one batch per top folder, one task per source, V outputs each,
    named `cat/001__v1.png`. Sources in `normalised_png` are stored as PNG assets."""
    outcomes = AUTO_OUTCOMES if outcomes is None else outcomes
    dataset = Dataset(name="pets")
    job = Job(
        mode="automatic",
        name="Pets augmentation!",
        provider="classic",
        model="classic",
        include_originals=include_originals,
    )
    db.add_all([dataset, job])
    db.flush()
    job.dataset_id = dataset.id
    built = BuiltJob(job_id=job.id, batch_ids={}, output_ids={})
    batches: dict[str, Batch] = {}
    runs_in_batch: dict[str, int] = {}
    position = 0
    for src in sources:
        folder = src.split("/")[0]
        fmt, ext, mime = (
            ("PNG", "png", "image/png") if src in normalised_png else ("JPEG", "jpg", "image/jpeg")
        )
        original = noise_image(fmt, image_side)
        sha = hashlib.sha256(original).hexdigest()
        key = asset_key(sha, ext)
        storage.put_bytes(key, original)
        built.originals[src] = original
        db.add(
            Asset(
                id=sha,
                mime_type=mime,
                format=fmt,
                width=image_side,
                height=image_side,
                size_bytes=len(original),
                storage_key=key,
            )
        )
        db.add(DatasetItem(dataset_id=dataset.id, asset_id=sha, rel_path=src, folder=folder))
        if folder not in batches:
            batches[folder] = Batch(
                job_id=job.id, position=len(batches), name=folder, slug=folder, prompt=""
            )
            db.add(batches[folder])
            db.flush()
            built.batch_ids[folder] = batches[folder].id
        batch = batches[folder]
        run = runs_in_batch.get(folder, 0)
        runs_in_batch[folder] = run + 1
        task = Task(
            job_id=job.id, batch_id=batch.id, position=run, source_asset_id=sha, source_path=src
        )
        db.add(task)
        db.flush()
        stem = str(PurePosixPath(src).with_suffix(""))
        for v in range(1, variations + 1):
            status, error = outcomes.get((src, v), ("succeeded", None))
            out = Output(
                id=new_id(),
                job_id=job.id,
                batch_id=batch.id,
                task_id=task.id,
                position=position,
                run_index=run,
                variation=v,
                source_asset_id=sha,
                source_path=src,
                archive_path=f"{stem}__v{v}.png",
                prompt=f"a photo of a {folder}, variation {v}",
                model="classic",
                seed=1000 + position,
                attempt=1 if status != "pending" else 0,
                status=status,
                error=error,
            )
            if status == "succeeded":
                _store_output(storage, job.id, out, image_side)
            db.add(out)
            built.output_ids[(src, v)] = out.id
            position += 1
    job.total_outputs = position
    db.commit()
    return built


def _store_output(storage: Storage, job_id: str, out: Output, side: int = 48) -> None:
    data = noise_image("PNG", side)
    out.storage_key = output_key(job_id, out.id, "png")
    out.mime_type = "image/png"
    out.width = out.height = side
    out.cost = 0.039
    storage.put_bytes(out.storage_key, data)


def build_semi_auto_job(db: Session, storage: Storage, *, count: int = 6) -> BuiltJob:
    """One prompt, `count` images in runs of 4: `01-a-red-car/run-001/image-1.png`."""
    refs = ["r" * 64, "s" * 64]
    job = Job(
        mode="semi_auto",
        name="Red cars",
        provider="classic",
        model="classic",
        reference_asset_ids=refs,
    )
    db.add(job)
    db.flush()
    batch = Batch(job_id=job.id, position=0, name="a red car", slug="a-red-car", prompt="a red car")
    db.add(batch)
    db.flush()
    built = BuiltJob(job_id=job.id, batch_ids={"a red car": batch.id}, output_ids={})
    for i in range(count):
        run, v = divmod(i, 4)
        if v == 0:
            task = Task(job_id=job.id, batch_id=batch.id, position=run)
            db.add(task)
            db.flush()
        out = Output(
            id=new_id(),
            job_id=job.id,
            batch_id=batch.id,
            task_id=task.id,
            position=i,
            run_index=run,
            variation=v + 1,
            archive_path=f"01-a-red-car/run-{run + 1:03d}/image-{v + 1}.png",
            prompt="a red car",
            model="classic",
            seed=7 + i,
            status="succeeded" if i < count - 1 else "pending",
        )
        if out.status == "succeeded":
            _store_output(storage, job.id, out)
        db.add(out)
        built.output_ids[(f"run-{run + 1}", v + 1)] = out.id
    db.commit()
    return built


def export(
    session_factory: sessionmaker[Session],
    storage: Storage,
    job_id: str,
    selection: ExportSelection | None = None,
    *,
    part_bytes: int = BIG,
) -> tuple[str, zipfile.ZipFile, bytes, int | None]:
    name, chunks, length = stream_job_zip(
        session_factory, storage, job_id, selection or ExportSelection(), part_bytes=part_bytes
    )
    data = b"".join(chunks)
    return name, zipfile.ZipFile(io.BytesIO(data)), data, length


def read_manifests(zf: zipfile.ZipFile) -> tuple[list[dict[str, object]], list[list[str]]]:
    jsonl = [json.loads(line) for line in zf.read("manifest.jsonl").decode().splitlines()]
    rows = list(csv.reader(io.StringIO(zf.read("manifest.csv").decode("utf-8"), newline="")))
    assert rows[0] == list(MANIFEST_FIELDS)
    return jsonl, rows[1:]


def db_outputs(db: Session, job_id: str) -> list[Output]:
    db.expire_all()
    stmt = select(Output).where(Output.job_id == job_id).order_by(Output.position)
    return list(db.scalars(stmt))


def expected_rows(db: Session, outputs: list[Output]) -> list[dict[str, object]]:
    rows = []
    for out in outputs:
        job = db.get(Job, out.job_id)
        batch = db.get(Batch, out.batch_id)
        assert job is not None and batch is not None
        rows.append(manifest_row(job, batch, out).as_dict())
    return rows


def image_names(zf: zipfile.ZipFile) -> set[str]:
    return set(zf.namelist()) - {"manifest.jsonl", "manifest.csv"}


# --------------------------------------------------------------------------- tests


def test_full_export_layout_crcs_and_stored_images(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage)
    name, zf, data, length = export(session_factory, storage, built.job_id)

    assert name == f"bananabatch-pets-augmentation-{built.job_id[:8]}.zip"
    assert length == len(data)  # exact size known before streaming
    assert zf.testzip() is None
    assert zf.namelist()[:2] == ["manifest.jsonl", "manifest.csv"]
    assert image_names(zf) == {
        "cat/001__v1.png",
        "cat/001__v2.png",
        "cat/002__v1.png",  # cat/002 v2 is pending, dog/001 failed + blocked
    }
    for out in db_outputs(db, built.job_id):
        if out.status == "succeeded":
            info = zf.getinfo(out.archive_path)
            assert info.compress_type == zipfile.ZIP_STORED
            assert zf.read(info) == storage.get_bytes(out.storage_key or "")


def test_manifests_match_the_db_row_for_row(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage)
    _, zf, _, _ = export(session_factory, storage, built.job_id)
    jsonl, csv_rows = read_manifests(zf)
    outputs = db_outputs(db, built.job_id)
    expected = expected_rows(db, outputs)

    assert jsonl == expected
    assert len(csv_rows) == len(outputs)
    for cells, want in zip(csv_rows, expected, strict=True):
        as_text = {
            k: ("" if v is None else ";".join(v) if isinstance(v, list) else str(v))
            for k, v in want.items()
        }
        assert dict(zip(MANIFEST_FIELDS, cells, strict=True)) == as_text
    by_id = {r["output_id"]: r for r in jsonl}
    pending = by_id[built.output_ids[("cat/002.jpg", 2)]]
    assert (pending["status"], pending["archive_path"]) == ("pending", "")
    failed = by_id[built.output_ids[("dog/001.jpg", 1)]]
    assert failed["status"] == "failed"
    assert failed["error"] == "provider returned 500 four times"
    blocked = by_id[built.output_ids[("dog/001.jpg", 2)]]
    assert (blocked["status"], blocked["archive_path"]) == ("blocked", "")
    assert by_id[built.output_ids[("cat/001.jpg", 1)]]["archive_path"] == "cat/001__v1.png"
    # Every archive_path in the manifest is a file in the archive, and vice versa.
    assert {r["archive_path"] for r in jsonl} - {""} == image_names(zf)


def test_mid_run_export_is_a_consistent_snapshot(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage)
    pending_id = built.output_ids[("cat/002.jpg", 2)]
    engine = session_factory.kw["bind"]
    assert isinstance(engine, Engine)
    checkouts: list[object] = []

    def on_checkout(*args: object) -> None:
        checkouts.append(args)

    _, chunks, length = stream_job_zip(
        session_factory, storage, built.job_id, ExportSelection(), part_bytes=BIG
    )
    # The job moves on while the download has not started yet.
    out = db.get(Output, pending_id)
    assert out is not None
    _store_output(storage, built.job_id, out)
    out.status = "succeeded"
    db.commit()
    event.listen(engine, "checkout", on_checkout)
    try:
        data = b"".join(chunks)
    finally:
        event.remove(engine, "checkout", on_checkout)
    assert checkouts == [], "streaming must not touch the database"
    assert length == len(data)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.testzip() is None
    jsonl, _ = read_manifests(zf)
    row = next(r for r in jsonl if r["output_id"] == pending_id)
    assert (row["status"], row["archive_path"]) == ("pending", "")
    assert "cat/002__v2.png" not in zf.namelist()

    # A new export sees it.
    _, zf2, _, _ = export(session_factory, storage, built.job_id)
    assert "cat/002__v2.png" in zf2.namelist()


def test_succeeded_only(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage)
    _, zf, _, _ = export(
        session_factory, storage, built.job_id, ExportSelection(succeeded_only=True)
    )
    jsonl, csv_rows = read_manifests(zf)
    assert {r["status"] for r in jsonl} == {"succeeded"}
    assert len(jsonl) == len(csv_rows) == 3
    assert {r["archive_path"] for r in jsonl} == image_names(zf)


def test_one_batch(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage)
    dog = built.batch_ids["dog"]
    _, zf, _, _ = export(session_factory, storage, built.job_id, ExportSelection(batch_id=dog))
    jsonl, _ = read_manifests(zf)
    assert {r["batch_id"] for r in jsonl} == {dog}
    assert len(jsonl) == 2
    assert image_names(zf) == set()  # dog's outputs failed / were blocked

    with pytest.raises(NotFound, match="batch"):
        export(session_factory, storage, built.job_id, ExportSelection(batch_id="nope"))


def test_selection_of_outputs(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage)
    chosen = frozenset({built.output_ids[("cat/001.jpg", 2)], built.output_ids[("dog/001.jpg", 1)]})
    sel = ExportSelection(output_ids=chosen)
    _, zf, _, _ = export(session_factory, storage, built.job_id, sel)
    jsonl, _ = read_manifests(zf)
    assert {r["output_id"] for r in jsonl} == chosen
    assert image_names(zf) == {"cat/001__v2.png"}

    # Combined with succeeded-only, the failed one drops out without complaint.
    sel_ok = ExportSelection(output_ids=chosen, succeeded_only=True)
    _, zf, _, _ = export(session_factory, storage, built.job_id, sel_ok)
    assert [r["output_id"] for r in read_manifests(zf)[0]] == [built.output_ids[("cat/001.jpg", 2)]]

    with pytest.raises(ValidationFailed, match="do not belong"):
        export(session_factory, storage, built.job_id, ExportSelection(output_ids=chosen | {"x"}))
    with pytest.raises(ValidationFailed, match="empty"):
        export(session_factory, storage, built.job_id, ExportSelection(output_ids=frozenset()))


def test_unknown_job(storage: LocalStorage, session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound, match="job"):
        stream_job_zip(session_factory, storage, "missing", ExportSelection(), part_bytes=BIG)


def test_originals_beside_variations(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(
        db, storage, include_originals=True, normalised_png=frozenset({"dog/001.jpg"})
    )
    _, zf, _, _ = export(session_factory, storage, built.job_id)
    assert zf.testzip() is None
    names = zf.namelist()
    # Each original once, in its dataset folder, just before its variations;
    # the asset normalised to PNG keeps its path with the stored extension.
    assert names == [
        "manifest.jsonl",
        "manifest.csv",
        "cat/001.jpg",
        "cat/001__v1.png",
        "cat/001__v2.png",
        "cat/002.jpg",
        "cat/002__v1.png",
        "dog/001.png",
    ]
    assert zf.read("cat/001.jpg") == built.originals["cat/001.jpg"]
    assert zf.read("dog/001.png") == built.originals["dog/001.jpg"]
    assert zf.getinfo("cat/002.jpg").compress_type == zipfile.ZIP_STORED
    assert len(read_manifests(zf)[0]) == 6  # manifests list outputs, not originals

    # The selection overrides the job's setting, both ways.
    _, zf, _, _ = export(
        session_factory, storage, built.job_id, ExportSelection(include_originals=False)
    )
    assert "cat/001.jpg" not in zf.namelist()
    plain = build_automatic_job(db, storage)
    _, zf, _, _ = export(
        session_factory,
        storage,
        plain.job_id,
        ExportSelection(include_originals=True, succeeded_only=True),
    )
    assert {"cat/001.jpg", "cat/002.jpg"} <= set(zf.namelist())
    assert "dog/001.jpg" not in zf.namelist()  # no selected output of that source


def test_semi_auto_layout(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_semi_auto_job(db, storage)
    name, zf, _, _ = export(session_factory, storage, built.job_id)
    assert name.startswith("bananabatch-red-cars-")
    assert zf.testzip() is None
    assert image_names(zf) == {
        "01-a-red-car/run-001/image-1.png",
        "01-a-red-car/run-001/image-2.png",
        "01-a-red-car/run-001/image-3.png",
        "01-a-red-car/run-001/image-4.png",
        "01-a-red-car/run-002/image-1.png",
    }
    jsonl, _ = read_manifests(zf)
    assert jsonl == expected_rows(db, db_outputs(db, built.job_id))
    assert jsonl[-1]["status"] == "pending"
    assert jsonl[-1]["run"] == 2
    assert jsonl[0]["reference_asset_ids"] == ["r" * 64, "s" * 64]


def test_names_are_safe_and_match_the_stored_format(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_semi_auto_job(db, storage, count=5)
    ids = [built.output_ids[("run-1", v)] for v in (1, 2, 3, 4)]
    hostile, jpeg, missing, clash = (db.get(Output, i) for i in ids)
    assert hostile and jpeg and missing and clash
    hostile.archive_path = "../../etc/C:/evil.png"
    jpeg.mime_type = "image/jpeg"
    jpeg.storage_key = output_key(built.job_id, jpeg.id, "jpg")
    storage.put_bytes(jpeg.storage_key, noise_image("JPEG"))
    storage.delete(missing.storage_key or "")
    clash.archive_path = "etc/C_/evil.png"  # distinct in the DB, the same once made safe
    db.commit()

    _, zf, _, _ = export(session_factory, storage, built.job_id)
    assert zf.testzip() is None
    assert image_names(zf) == {
        "etc/C_/evil.png",
        "01-a-red-car/run-001/image-2.jpg",
        "etc/C_/evil~2.png",
    }
    jsonl, _ = read_manifests(zf)
    by_id = {r["output_id"]: r for r in jsonl}
    assert by_id[jpeg.id]["archive_path"] == "01-a-red-car/run-001/image-2.jpg"
    assert by_id[missing.id]["archive_path"] == ""
    assert by_id[missing.id]["error"] == "image missing from storage"
    assert by_id[hostile.id]["archive_path"] == "etc/C_/evil.png"
    assert by_id[clash.id]["archive_path"] == "etc/C_/evil~2.png"


def test_deflated_manifests_have_no_precomputed_length(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage)
    with session_factory() as session:
        entries = iter_export_entries(session, built.job_id, ExportSelection(), storage=storage)
    chunks, length = zip_entries(entries, storage, deflate_manifests=True)
    zf = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert length is None
    assert zf.testzip() is None
    assert zf.getinfo("manifest.jsonl").compress_type == zipfile.ZIP_DEFLATED
    assert zf.getinfo("cat/001__v1.png").compress_type == zipfile.ZIP_STORED


def test_parts_are_valid_zips_covering_everything_once(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    sources = tuple(f"{cls}/{i:03d}.jpg" for cls in ("cat", "dog") for i in range(1, 7))
    built = build_automatic_job(
        db, storage, sources=sources, variations=3, include_originals=True, image_side=64
    )
    _, whole, _, _ = export(session_factory, storage, built.job_id)
    whole_rows, _ = read_manifests(whole)
    part_bytes = 120_000  # a source (original + 3 variations) is ~50 KB

    with session_factory() as session:
        entries = iter_export_entries(session, built.job_id, ExportSelection(), storage=storage)
    plan = plan_parts(entries, part_bytes)
    assert len(plan) > 2
    assert sum(p.entries for p in plan) == len(entries)

    seen_files: list[str] = []
    seen_rows: list[str] = []
    for p in plan:
        name, zf, data, length = export(
            session_factory,
            storage,
            built.job_id,
            ExportSelection(part=p.part),
            part_bytes=part_bytes,
        )
        assert name.endswith(f"-part{p.part}of{len(plan)}.zip")
        assert length == len(data) <= part_bytes
        assert 0 <= p.approx_bytes - len(data) < 300  # the plan's estimate is close, never low
        assert zf.testzip() is None
        files = sorted(image_names(zf))
        assert len(files) == p.files
        jsonl, csv_rows = read_manifests(zf)
        assert len(jsonl) == len(csv_rows) == p.outputs
        # The part's manifests cover exactly its own outputs and files.
        assert {r["archive_path"] for r in jsonl} - {""} == {f for f in files if "__v" in f}
        # A source's original and variations are never split across parts.
        stems = {f.split("__v")[0].rsplit(".", 1)[0] for f in files}
        for stem in stems:
            for v in (1, 2, 3):
                if f"{stem}__v{v}.png" in {r["archive_path"] for r in whole_rows}:
                    assert f"{stem}__v{v}.png" in files
            assert f"{stem}.jpg" in files
        seen_files += files
        seen_rows += [str(r["output_id"]) for r in jsonl]

    assert sorted(seen_files) == sorted(image_names(whole))
    assert len(seen_rows) == len(set(seen_rows)) == len(whole_rows)
    assert set(seen_rows) == {str(r["output_id"]) for r in whole_rows}

    with pytest.raises(NotFound, match="part"):
        export(
            session_factory,
            storage,
            built.job_id,
            ExportSelection(part=len(plan) + 1),
            part_bytes=part_bytes,
        )
    # Asking for part 1 of an export that fits in one part is the whole export.
    name, zf, _, _ = export(session_factory, storage, built.job_id, ExportSelection(part=1))
    assert "-part" not in name
    assert sorted(image_names(zf)) == sorted(image_names(whole))


class MemoryStorage:
    """Just enough of the Storage port for `zip_entries`: tiny in-memory objects."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.opened = 0

    def open(self, key: str) -> BinaryIO:
        self.opened += 1
        return io.BytesIO(self.objects[key])

    def size(self, key: str) -> int:
        return len(self.objects[key])


def test_zip64_when_entries_exceed_65535() -> None:
    mem = MemoryStorage()
    entries: list[ExportEntry] = []
    count = 65_540
    for i in range(count):
        key = f"k{i}"
        mem.objects[key] = b"%d" % i
        entries.append(
            ExportEntry("original", str(i), f"d{i // 1000:02d}/{i}.png", key, None, None)
        )
    chunks, length = zip_entries(entries, mem)  # type: ignore[arg-type]
    first = next(chunks)
    assert mem.opened < count  # lazily read: the first chunk did not open every object
    data = first + b"".join(chunks)
    assert length == len(data)
    tail = data[-200:]
    assert b"PK\x06\x06" in tail and b"PK\x06\x07" in tail  # ZIP64 end record + locator
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert len(infos) == count + 2
        for i in (0, 1, 65_535, count - 1):
            assert zf.read(f"d{i // 1000:02d}/{i}.png") == b"%d" % i


def _chunks_are_bounded(chunks: Iterator[bytes], limit: int) -> bool:
    return all(len(c) <= limit for c in chunks)


def test_stream_yields_bounded_chunks(
    db: Session, storage: LocalStorage, session_factory: sessionmaker[Session]
) -> None:
    built = build_automatic_job(db, storage, image_side=400)  # ~480 KB PNGs
    _, chunks, _ = stream_job_zip(
        session_factory, storage, built.job_id, ExportSelection(), part_bytes=BIG
    )
    # Never an image (let alone the archive) in one piece: chunks stay near the read size.
    assert _chunks_are_bounded(chunks, 2 * 256 * 1024)


class _Zeros(io.RawIOBase):
    """A lazily produced object of `size` zero bytes."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: WriteableBuffer) -> int:
        view = memoryview(buf)
        n = min(len(view), self.left)
        view[:n] = bytes(n)
        self.left -= n
        return n


class HugeStorage(MemoryStorage):
    def __init__(self, huge: dict[str, int]) -> None:
        super().__init__()
        self.huge = huge

    def open(self, key: str) -> BinaryIO:
        self.opened += 1
        return io.BufferedReader(_Zeros(self.huge[key]))

    def size(self, key: str) -> int:
        return self.huge[key]


def test_zip64_headers_when_a_file_exceeds_4gb() -> None:
    big = 5 * 1024**3
    store = HugeStorage({"big": big})
    entry = ExportEntry("original", "g", "big.png", "big", None, None)
    chunks, length = zip_entries([entry], store)  # type: ignore[arg-type]
    assert length is not None and length > big
    head = next(chunks)  # manifests, then the big file's local header: read nothing more
    at = head.index(b"PK\x03\x04" + b"\x2d\x00")  # version 4.5 = ZIP64
    assert head[at + 30 : at + 37] == b"big.png"
    compressed, uncompressed = struct.unpack("<II", head[at + 18 : at + 26])
    assert compressed == uncompressed == 0xFFFFFFFF  # sizes live in the ZIP64 extra field
    assert head[at + 37 : at + 41] == b"\x01\x00\x10\x00"  # ZIP64 extra: id 1, 16 bytes
    assert len(head) < 4 * 1024 * 1024
