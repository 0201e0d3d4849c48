"""Ingest end to end: files and ZIPs in, assets + dataset items in storage and the DB.

Every bad file gets its per-file error code while the good files still land
(blob under its content address, thumbnail, Asset row, DatasetItem).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.config import Settings
from bananabatch.db.models import Asset, DatasetItem
from bananabatch.errors import BadUpload, NotFound, ValidationFailed
from bananabatch.ingest import (
    ArchiveRejected,
    IngestReport,
    assets,
    create_dataset,
    dataset_sources,
    dataset_summary,
    ingest_files,
    ingest_zip,
    store_asset,
)
from bananabatch.ingest.dataset_items import FolderSummary
from bananabatch.ingest.images import ValidatedImage
from bananabatch.storage.keys import asset_key, thumb_key
from bananabatch.storage.local import LocalStorage
from tests import badinput as bi


def upload(files: Iterable[tuple[str, bytes]]) -> list[tuple[str, BinaryIO]]:
    return [(name, io.BytesIO(data)) for name, data in files]


def errors_by_path(report: IngestReport) -> dict[str, str]:
    return {e.rel_path: e.code for e in report.errors}


def asset_blobs(storage: LocalStorage) -> list[str]:
    return list(storage.iter_keys("assets"))


def items(db: Session, dataset_id: str) -> dict[str, DatasetItem]:
    rows = db.scalars(select(DatasetItem).where(DatasetItem.dataset_id == dataset_id))
    return {i.rel_path: i for i in rows}


def assert_landed(db: Session, storage: LocalStorage, asset_id: str) -> Asset:
    asset = db.get(Asset, asset_id)
    assert asset is not None
    assert storage.exists(asset.storage_key)
    assert asset.storage_key.startswith(f"assets/{asset_id[:2]}/{asset_id}.")
    assert asset.size_bytes == storage.size(asset.storage_key)
    stored = Image.open(io.BytesIO(storage.get_bytes(asset.storage_key)))
    assert stored.size == (asset.width, asset.height)
    assert asset.thumb_key == thumb_key(asset_id)
    thumb = Image.open(io.BytesIO(storage.get_bytes(asset.thumb_key)))
    assert thumb.format == "WEBP"
    assert max(thumb.size) <= 256
    return asset


# ------------------------------------------------------------------ folder uploads


def test_bad_and_good_files_in_one_upload(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    ds = create_dataset(db, "mixed")
    bad, good = bi.bad_files(), bi.good_files()
    report = ingest_files(
        db, storage, settings, ds.id, upload((c.name, c.data) for c in bad + good)
    )

    assert errors_by_path(report) == {c.name: c.error for c in bad}
    for err in report.errors:
        assert err.message.startswith(err.rel_path + ": ")
    accepted = {f.rel_path: f for f in report.accepted}
    assert set(accepted) == {c.name for c in good}
    for case in good:
        got = accepted[case.name]
        assert got.mime_type == case.mime_type, case.name
        assert not got.duplicate
        if case.note:
            assert any(case.note in n for n in got.notes), (case.name, got.notes)
        asset = assert_landed(db, storage, got.asset_id)
        assert (asset.width, asset.height) == (got.width, got.height)

    assert accepted["good/really_png.jpg"].asset_id  # stored with the right extension
    png_asset = db.get(Asset, accepted["good/really_png.jpg"].asset_id)
    assert png_asset is not None and png_asset.storage_key.endswith(".png")
    rotated = accepted["good/rotated.jpg"]
    assert (rotated.width, rotated.height) == (20, 40)

    rows = items(db, ds.id)
    assert set(rows) == {c.name for c in good}
    assert {r.folder for r in rows.values()} == {"good"}
    assert db.scalar(select(func.count()).select_from(Asset)) == len(good)
    assert len(asset_blobs(storage)) == len(good)


def test_oversized_file_is_a_per_file_error(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_image_bytes": 20_000})
    ds = create_dataset(db, "sizes")
    report = ingest_files(
        db,
        storage,
        small,
        ds.id,
        upload(
            [
                ("cat/huge.jpg", bi.oversized_file(20_001)),
                ("cat/exact.jpg", bi.oversized_file(20_000)),
                ("cat/small.jpg", bi.jpeg_photo(seed=1)),
            ]
        ),
    )
    assert errors_by_path(report) == {"cat/huge.jpg": "too_large"}
    assert "limit per file" in report.errors[0].message
    assert {f.rel_path for f in report.accepted} == {"cat/exact.jpg", "cat/small.jpg"}


def test_oversized_file_on_disk_is_refused_without_reading_it(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    """An upload spooled to disk and larger than the cap is never read into memory."""
    path = tmp_path / "huge.part"
    path.write_bytes(bi.oversized_file(20_001))

    class Counting(io.FileIO):
        read_bytes = 0

        def read(self, size: int = -1) -> bytes:
            data = super().read(size)
            Counting.read_bytes += len(data)
            return data

    small = settings.model_copy(update={"max_image_bytes": 20_000})
    with Counting(path, "r") as fh:
        report = ingest_files(db, storage, small, None, [("huge.jpg", fh)])  # type: ignore[list-item]
    assert errors_by_path(report) == {"huge.jpg": "too_large"}
    assert Counting.read_bytes == 0


def test_same_bytes_twice_is_one_asset_and_one_file(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    ds = create_dataset(db, "dupes")
    data = bi.jpeg_photo(seed=3)
    report = ingest_files(
        db, storage, settings, ds.id, upload([("cat/a.jpg", data), ("dog/b.jpg", data)])
    )
    first, second = report.accepted
    assert first.asset_id == second.asset_id
    assert (first.duplicate, second.duplicate) == (False, True)
    assert db.scalar(select(func.count()).select_from(Asset)) == 1
    assert len(asset_blobs(storage)) == 1
    assert len(list(storage.iter_keys("thumbs"))) == 1
    assert set(items(db, ds.id)) == {"cat/a.jpg", "dog/b.jpg"}

    # A later upload (another request, another dataset) stores nothing new either.
    other = create_dataset(db, "again")
    again = ingest_files(db, storage, settings, other.id, upload([("x.jpg", data)]))
    assert again.accepted[0].duplicate
    assert len(asset_blobs(storage)) == 1


def test_same_path_again_replaces_the_item(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    ds = create_dataset(db, "replace")
    one, two = bi.jpeg_photo(seed=4), bi.jpeg_photo(seed=5)
    r1 = ingest_files(db, storage, settings, ds.id, upload([("cat/001.jpg", one)]))
    r2 = ingest_files(db, storage, settings, ds.id, upload([("cat/001.jpg", two)]))
    assert r2.errors == []
    rows = items(db, ds.id)
    assert list(rows) == ["cat/001.jpg"]
    assert rows["cat/001.jpg"].asset_id == r2.accepted[0].asset_id != r1.accepted[0].asset_id
    # Uploading the same path twice in one request: the last one wins.
    r3 = ingest_files(
        db, storage, settings, ds.id, upload([("cat/002.jpg", one), ("cat/002.jpg", two)])
    )
    assert r3.errors == []
    assert items(db, ds.id)["cat/002.jpg"].asset_id == r2.accepted[0].asset_id


def test_unicode_and_space_names_and_nfd(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    ds = create_dataset(db, "unicode")
    names = list(bi.UNICODE_NAMES)
    files = [(bi.nfd(n), bi.jpeg_photo(seed=i)) for i, n in enumerate(names)]
    report = ingest_files(db, storage, settings, ds.id, upload(files))
    assert report.errors == []
    assert sorted(f.rel_path for f in report.accepted) == sorted(names)
    rows = items(db, ds.id)
    assert set(rows) == set(names)
    assert rows["café/ñandú 01.jpg"].folder == "café"
    assert rows["my photos/summer day (1) .jpg"].folder == "my photos"
    summary = dataset_summary(db, ds.id)
    assert {f.folder for f in summary.folders} == {"café", "фото", "日本", "my photos", "emoji 🍌"}


def test_duplicate_names_in_different_folders(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    ds = create_dataset(db, "classes")
    report = ingest_files(db, storage, settings, ds.id, upload(bi.duplicate_names_in_folders()))
    assert report.errors == []
    rows = items(db, ds.id)
    assert {p: r.folder for p, r in rows.items()} == {"cat/001.jpg": "cat", "dog/001.jpg": "dog"}
    assert rows["cat/001.jpg"].asset_id != rows["dog/001.jpg"].asset_id
    assert dataset_summary(db, ds.id).folders == [
        FolderSummary(folder="cat", count=1),
        FolderSummary(folder="dog", count=1),
    ]


def test_unsafe_and_ignored_paths(db: Session, storage: LocalStorage, settings: Settings) -> None:
    ds = create_dataset(db, "paths")
    report = ingest_files(
        db,
        storage,
        settings,
        ds.id,
        upload(
            [
                ("../escape.jpg", bi.jpeg_photo(seed=1)),
                ("/abs.jpg", bi.jpeg_photo(seed=2)),
                ("C:\\win.jpg", bi.jpeg_photo(seed=3)),
                ("set/.DS_Store", b"\x00\x00\x00\x01Bud1"),
                ("set/cat/._001.jpg", b"\x00\x05\x16\x07"),
                ("set/Thumbs.db", b"\xd0\xcf"),
                ("set\\cat\\001.jpg", bi.jpeg_photo(seed=4)),
            ]
        ),
    )
    assert errors_by_path(report) == {
        "../escape.jpg": "unsafe_path",
        "/abs.jpg": "unsafe_path",
        "C:\\win.jpg": "unsafe_path",
    }
    assert [f.rel_path for f in report.skipped] == [
        "set/.DS_Store",
        "set/cat/._001.jpg",
        "set/Thumbs.db",
    ]
    assert [f.rel_path for f in report.accepted] == ["set/cat/001.jpg"]
    assert items(db, ds.id)["set/cat/001.jpg"].folder == "set"


def test_strip_common_root_for_a_browser_folder_pick(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    ds = create_dataset(db, "picked")
    files = [
        ("myset/cat/1.jpg", bi.jpeg_photo(seed=1)),
        ("myset/dog/2.jpg", bi.jpeg_photo(seed=2)),
        ("myset/.DS_Store", b"junk"),
    ]
    report = ingest_files(db, storage, settings, ds.id, upload(files), strip_common_root=True)
    assert sorted(f.rel_path for f in report.accepted) == ["cat/1.jpg", "dog/2.jpg"]
    assert [f.folder for f in dataset_summary(db, ds.id).folders] == ["cat", "dog"]


def test_standalone_assets_without_dataset(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    report = ingest_files(
        db,
        storage,
        settings,
        None,
        upload([("ref1.jpg", bi.jpeg_photo(seed=8)), ("ref2.png", bi.text_named_png())]),
    )
    assert errors_by_path(report) == {"ref2.png": "not_an_image"}
    assert_landed(db, storage, report.accepted[0].asset_id)
    assert db.scalar(select(func.count()).select_from(DatasetItem)) == 0


def test_unknown_dataset_is_not_found(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(NotFound):
        ingest_files(db, storage, settings, "nope", upload([("a.jpg", bi.jpeg_photo())]))
    with pytest.raises(NotFound):
        ingest_zip(db, storage, settings, "nope", bi.dataset_zip(tmp_path / "d.zip"))
    with pytest.raises(NotFound):
        dataset_summary(db, "nope")
    with pytest.raises(NotFound):
        dataset_sources(db, "nope")


def test_large_file_is_read_with_a_cap(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    """A huge stream is not read beyond the cap (the reader would fail past it)."""

    class Endless(io.RawIOBase):
        def __init__(self) -> None:
            self.served = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            assert size is not None and 0 < size <= 1024 * 1024, "unbounded read"
            self.served += size
            return b"\xff" * size

    small = settings.model_copy(update={"max_upload_bytes": 3 * 1024 * 1024})
    stream = Endless()
    report = ingest_files(db, storage, small, None, [("endless.jpg", stream)])  # type: ignore[list-item]
    assert errors_by_path(report) == {"endless.jpg": "too_large"}
    assert stream.served <= 3 * 1024 * 1024 + 1024 * 1024


# ------------------------------------------------------------------ store_asset


def test_store_asset_repairs_a_lost_blob(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    data = bi.cmyk_jpeg()
    asset, dup, notes = store_asset(db, storage, data, name="c.jpg", max_pixels=10**8)
    db.commit()
    assert not dup and "CMYK converted to RGB" in notes
    storage.delete(asset.storage_key)
    storage.delete(thumb_key(asset.id))
    again, dup2, _ = store_asset(db, storage, data, name="c.jpg", max_pixels=10**8)
    db.commit()
    assert again.id == asset.id and dup2
    assert storage.exists(again.storage_key)
    assert storage.exists(thumb_key(asset.id))
    assert again.storage_key == asset_key(asset.id, "jpg")


def test_store_asset_does_not_commit(db: Session, storage: LocalStorage) -> None:
    asset, _, _ = store_asset(db, storage, bi.jpeg_photo(), name="a.jpg", max_pixels=10**8)
    asset_id = asset.id
    db.rollback()
    assert db.get(Asset, asset_id) is None


# ------------------------------------------------------------------ ZIP uploads


def test_dataset_zip_lands_with_classes(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    ds = create_dataset(db, "  zipped  ")
    assert ds.name == "zipped"
    report = ingest_zip(db, storage, settings, ds.id, bi.dataset_zip(tmp_path / "ds.zip"))
    assert report.errors == []
    sources = dataset_sources(db, ds.id)
    assert [p for p, _ in sources] == ["cat/001.jpg", "cat/002.png", "dog/001.jpg"]
    for _, asset_id in sources:
        assert_landed(db, storage, asset_id)
    summary = dataset_summary(db, ds.id)
    assert (summary.id, summary.name, summary.item_count) == (ds.id, "zipped", 3)
    assert summary.folders == [FolderSummary("cat", 2), FolderSummary("dog", 1)]


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (
            bi.zip_with_traversal,
            {"../evil.jpg": "unsafe_path", "cat/../../evil2.jpg": "unsafe_path"},
        ),
        (
            bi.zip_with_absolute_paths,
            {
                "/etc/evil.jpg": "unsafe_path",
                "C:/Windows/evil.jpg": "unsafe_path",
                "D:\\evil.jpg": "unsafe_path",
                "\\\\server\\share\\evil.jpg": "unsafe_path",
            },
        ),
        (bi.zip_with_symlink, {"cat/link.jpg": "symlink"}),
    ],
    ids=["traversal", "absolute", "symlink"],
)
def test_hostile_zip_entries_are_skipped_and_the_rest_lands(
    db: Session,
    storage: LocalStorage,
    settings: Settings,
    tmp_path: Path,
    builder: object,
    expected: dict[str, str],
) -> None:
    ds = create_dataset(db, "hostile")
    assert callable(builder)
    report = ingest_zip(db, storage, settings, ds.id, builder(tmp_path / "h.zip"))
    assert errors_by_path(report) == expected
    assert [f.rel_path.split("/")[-1] for f in report.accepted] == ["ok.jpg"]
    assert list(items(db, ds.id)) == [f.rel_path for f in report.accepted]
    # nothing was written outside the store
    assert not (tmp_path / "evil.jpg").exists()
    assert not (storage.root.parent / "evil.jpg").exists()


def test_zip_bomb_is_refused_and_stores_nothing(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    ds = create_dataset(db, "bomb")
    with pytest.raises(ArchiveRejected) as info:
        ingest_zip(db, storage, settings, ds.id, bi.zip_bomb(tmp_path / "bomb.zip"))
    assert "zip bomb" in info.value.message
    assert items(db, ds.id) == {}
    assert asset_blobs(storage) == []


def test_bad_images_inside_a_zip(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    ds = create_dataset(db, "zip-bad")
    cases = bi.bad_files() + bi.good_files()
    path = bi.build_zip(tmp_path / "mixed.zip", [bi.ZipEntry(c.name, c.data) for c in cases])
    report = ingest_zip(db, storage, settings, ds.id, path)
    assert errors_by_path(report) == {c.name: c.error for c in cases if c.error}
    assert {f.rel_path for f in report.accepted} == {c.name for c in cases if not c.error}


def test_zip_member_limits(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    ds = create_dataset(db, "zip-limits")
    small = settings.model_copy(update={"max_image_bytes": 20_000})
    path = bi.build_zip(
        tmp_path / "limits.zip",
        [
            bi.ZipEntry("cat/huge.jpg", bi.oversized_file(20_001)),
            bi.ZipEntry("dog/fine.jpg", bi.jpeg_photo(seed=2)),
        ],
    )
    report = ingest_zip(db, storage, small, ds.id, path)
    assert errors_by_path(report) == {"cat/huge.jpg": "too_large"}
    assert [f.rel_path for f in report.accepted] == ["dog/fine.jpg"]


def test_zip_entry_with_lying_size_is_corrupt(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    ds = create_dataset(db, "liar")
    report = ingest_zip(db, storage, settings, ds.id, bi.zip_with_lying_size(tmp_path / "l.zip"))
    assert errors_by_path(report) == {"cat/liar.jpg": "corrupt"}
    assert report.accepted == []


def test_empty_and_fake_zips(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    ds = create_dataset(db, "empty")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("__MACOSX/._x", b"")
        zf.writestr("folder/", b"")
    with pytest.raises(BadUpload) as info:
        ingest_zip(db, storage, settings, ds.id, empty)
    assert "contains no files" in info.value.message
    with pytest.raises(ArchiveRejected):
        ingest_zip(db, storage, settings, ds.id, bi.not_a_zip(tmp_path / "x.zip"))


def test_zip_entry_count_limit_from_settings(
    db: Session, storage: LocalStorage, settings: Settings, tmp_path: Path
) -> None:
    ds = create_dataset(db, "many")
    few = settings.model_copy(update={"max_zip_entries": 5})
    with pytest.raises(ArchiveRejected) as info:
        ingest_zip(db, storage, few, ds.id, bi.zip_with_many_entries(tmp_path / "m.zip", 6))
    assert "limit is 5" in info.value.message


# ------------------------------------------------------------------ datasets


def test_create_dataset_validates_name(db: Session) -> None:
    with pytest.raises(ValidationFailed):
        create_dataset(db, "x" * 256)
    assert create_dataset(db, "x" * 255).name == "x" * 255


def test_summary_of_flat_and_empty_datasets(
    db: Session, storage: LocalStorage, settings: Settings
) -> None:
    ds = create_dataset(db, "flat")
    empty = dataset_summary(db, ds.id)
    assert (empty.item_count, empty.folders) == (0, [])
    ingest_files(
        db,
        storage,
        settings,
        ds.id,
        upload([("b.jpg", bi.jpeg_photo(seed=1)), ("a.jpg", bi.jpeg_photo(seed=2))]),
    )
    summary = dataset_summary(db, ds.id)
    assert summary.item_count == 2
    assert summary.folders == [FolderSummary("", 2)]
    assert [p for p, _ in dataset_sources(db, ds.id)] == ["a.jpg", "b.jpg"]


def test_store_asset_survives_a_concurrent_insert_of_the_same_bytes(
    db: Session,
    storage: LocalStorage,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another request inserts the same asset between our lookup and our insert."""
    data = bi.jpeg_photo(seed=12)
    real_validate = assets.validate_image

    def racing_validate(raw: bytes, *, name: str, max_pixels: int) -> ValidatedImage:
        monkeypatch.setattr(assets, "validate_image", real_validate)  # race only once
        with session_factory() as other:
            store_asset(other, storage, raw, name=name, max_pixels=max_pixels)
            other.commit()
        return real_validate(raw, name=name, max_pixels=max_pixels)

    monkeypatch.setattr(assets, "validate_image", racing_validate)
    asset, duplicate, _ = store_asset(db, storage, data, name="race.jpg", max_pixels=10**8)
    db.commit()
    assert duplicate
    assert db.scalar(select(func.count()).select_from(Asset)) == 1
    assert_landed(db, storage, asset.id)
