"""Safe ZIP scanning: whole-archive refusals, per-entry errors, capped reads."""

from __future__ import annotations

import struct
import unicodedata
import warnings
import zipfile
from pathlib import Path

import pytest

from bananabatch.errors import BadUpload
from bananabatch.ingest.zipimport import (
    ArchiveRejected,
    FileError,
    MemberRejected,
    ZipMember,
    read_member,
    scan_zip,
)
from tests import badinput as bi

LIMITS = {"max_entries": 1000, "max_total_bytes": 100 * 1024 * 1024, "max_ratio": 200.0}


def scan(path: Path, **overrides: float) -> tuple[list[ZipMember], list[FileError]]:
    limits = {**LIMITS, **overrides}
    result = scan_zip(
        path,
        max_entries=int(limits["max_entries"]),
        max_total_bytes=int(limits["max_total_bytes"]),
        max_ratio=float(limits["max_ratio"]),
    )
    return result.members, result.errors


def codes(errors: list[FileError]) -> dict[str, str]:
    return {e.rel_path: e.code for e in errors}


def test_dataset_zip_strips_top_folder_and_clutter(tmp_path: Path) -> None:
    members, errors = scan(bi.dataset_zip(tmp_path / "ds.zip"))
    assert errors == []
    assert [m.rel_path for m in members] == ["cat/001.jpg", "cat/002.png", "dog/001.jpg"]
    assert all(m.size == m.info.file_size > 0 for m in members)


def test_dataset_zip_without_top_folder_keeps_classes(tmp_path: Path) -> None:
    members, _ = scan(bi.dataset_zip(tmp_path / "ds.zip", top=None))
    assert [m.rel_path for m in members] == ["cat/001.jpg", "cat/002.png", "dog/001.jpg"]


def test_traversal_entries_are_per_file_errors(tmp_path: Path) -> None:
    members, errors = scan(bi.zip_with_traversal(tmp_path / "t.zip"))
    assert codes(errors) == {"../evil.jpg": "unsafe_path", "cat/../../evil2.jpg": "unsafe_path"}
    assert all("'..'" in e.message for e in errors)
    # the one good file remains, in its class folder (a lone class folder is kept)
    assert [m.rel_path.split("/")[-1] for m in members] == ["ok.jpg"]
    assert all("/" in m.rel_path for m in members)


def test_absolute_and_drive_paths_are_per_file_errors(tmp_path: Path) -> None:
    members, errors = scan(bi.zip_with_absolute_paths(tmp_path / "a.zip"))
    assert codes(errors) == {
        "/etc/evil.jpg": "unsafe_path",
        "C:/Windows/evil.jpg": "unsafe_path",
        "D:\\evil.jpg": "unsafe_path",
        "\\\\server\\share\\evil.jpg": "unsafe_path",
    }
    assert [m.rel_path.split("/")[-1] for m in members] == ["ok.jpg"]


def test_symlinks_are_per_file_errors(tmp_path: Path) -> None:
    members, errors = scan(bi.zip_with_symlink(tmp_path / "s.zip"))
    assert codes(errors) == {"cat/link.jpg": "symlink"}
    assert "symbolic link" in errors[0].message
    assert [m.rel_path.split("/")[-1] for m in members] == ["ok.jpg"]


def test_zip_bomb_rejects_whole_archive(tmp_path: Path) -> None:
    path = bi.zip_bomb(tmp_path / "bomb.zip", 32 * 1024 * 1024)
    assert path.stat().st_size < 200 * 1024
    with pytest.raises(ArchiveRejected) as info:
        scan(path)
    assert "zip bomb" in info.value.message
    assert isinstance(info.value, BadUpload)


def test_per_entry_ratio_caught_even_when_overall_ratio_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("noise.bin"), bi.jpeg_photo((1500, 1500), seed=1))
        zf.writestr(zipfile.ZipInfo("zeros.bmp"), b"\x00" * (3 * 1024 * 1024), zipfile.ZIP_DEFLATED)
    with pytest.raises(ArchiveRejected) as info:
        scan(path, max_ratio=50)
    assert "'zeros.bmp'" in info.value.message


def test_small_highly_compressible_entries_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "blank.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("blank.bmp", b"\xff" * 200_000)
    members, errors = scan(path, max_ratio=10)
    assert [m.rel_path for m in members] == ["blank.bmp"] and errors == []


def test_total_uncompressed_size_limit(tmp_path: Path) -> None:
    path = bi.dataset_zip(tmp_path / "ds.zip")
    with pytest.raises(ArchiveRejected) as info:
        scan(path, max_total_bytes=1000)
    assert "expands to" in info.value.message
    assert "limit" in info.value.message


def test_too_many_entries(tmp_path: Path) -> None:
    path = bi.zip_with_many_entries(tmp_path / "many.zip", 11)
    with pytest.raises(ArchiveRejected) as info:
        scan(path, max_entries=10)
    assert "11 entries" in info.value.message
    assert "limit is 10" in info.value.message
    members, _ = scan(path, max_entries=11)
    assert len(members) == 11


def test_entry_count_is_walked_not_taken_from_the_end_record(tmp_path: Path) -> None:
    path = bi.zip_with_many_entries(tmp_path / "liar.zip", 50)
    raw = bytearray(path.read_bytes())
    eocd = raw.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", raw, eocd + 8, 3, 3)  # claim 3 entries
    path.write_bytes(bytes(raw))
    with pytest.raises(ArchiveRejected) as info:
        scan(path, max_entries=10)
    assert "has more than 10 entries" in info.value.message


@pytest.mark.slow
def test_zip64_end_record_is_understood(tmp_path: Path) -> None:
    count = 0x10000 + 5  # over 65,535 forces the ZIP64 end-of-central-directory record
    path = bi.zip_with_many_entries(tmp_path / "z64.zip", count)
    assert b"PK\x06\x06" in path.read_bytes()[-200:]
    with pytest.raises(ArchiveRejected) as info:
        scan(path, max_entries=count - 1)
    assert f"{count} entries" in info.value.message


@pytest.mark.parametrize("content", [b"", b"this is not a zip archive at all\n" * 10])
def test_not_a_zip(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.zip"
    path.write_bytes(content)
    with pytest.raises(ArchiveRejected) as info:
        scan(path)
    assert "fake.zip is not a readable ZIP archive" in info.value.message


def test_encrypted_entries_are_per_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "enc.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("cat/secret.jpg", b"\x00" * 32)
        zf.writestr("cat/open.jpg", bi.jpeg_photo())
    raw = bytearray(path.read_bytes())  # zipfile cannot write encrypted entries: flag one
    cd = raw.index(b"PK\x01\x02")
    struct.pack_into("<H", raw, cd + 8, raw[cd + 8] | 0x1)
    path.write_bytes(bytes(raw))
    members, errors = scan(path)
    assert codes(errors) == {"cat/secret.jpg": "encrypted"}
    assert [m.rel_path for m in members] == ["cat/open.jpg"]


def test_duplicate_paths_keep_the_first(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    nfc = "cat/café.jpg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(nfc, bi.jpeg_photo(seed=1))
            zf.writestr(unicodedata.normalize("NFD", nfc), bi.jpeg_photo(seed=2))
            zf.writestr("dog/x.jpg", bi.jpeg_photo(seed=3))
    members, errors = scan(path)
    assert [m.rel_path for m in members] == [nfc, "dog/x.jpg"]
    assert [(e.rel_path, e.code) for e in errors] == [(nfc, "duplicate_path")]


def test_backslash_entries_and_directories(tmp_path: Path) -> None:
    path = bi.build_zip(
        tmp_path / "win.zip",
        [
            bi.ZipEntry("cat\\", directory=True),
            bi.ZipEntry("cat\\001.jpg", bi.jpeg_photo(seed=1)),
            bi.ZipEntry("dog\\001.jpg", bi.jpeg_photo(seed=2)),
        ],
    )
    members, errors = scan(path)
    assert errors == []
    assert [m.rel_path for m in members] == ["cat/001.jpg", "dog/001.jpg"]


def _member(path: Path, name: str) -> tuple[zipfile.ZipFile, ZipMember]:
    zf = zipfile.ZipFile(path)
    info = zf.getinfo(name)
    return zf, ZipMember(name, info.file_size, info)


def test_read_member_reads_exact_bytes(tmp_path: Path) -> None:
    data = bi.jpeg_photo(seed=5)
    path = bi.build_zip(tmp_path / "ok.zip", [bi.ZipEntry("a.jpg", data)])
    zf, member = _member(path, "a.jpg")
    with zf:
        assert read_member(zf, member, max_bytes=len(data)) == data


def test_read_member_enforces_the_cap_before_reading(tmp_path: Path) -> None:
    path = bi.build_zip(tmp_path / "big.zip", [bi.ZipEntry("a.jpg", bi.oversized_file(50_000))])
    zf, member = _member(path, "a.jpg")
    with zf, pytest.raises(MemberRejected) as info:
        read_member(zf, member, max_bytes=10_000)
    assert info.value.reason == "too_large"


@pytest.mark.parametrize("delta", [-100, 100])
def test_read_member_detects_a_lying_size(tmp_path: Path, delta: int) -> None:
    path = bi.zip_with_lying_size(tmp_path / "liar.zip", delta=delta)
    zf, member = _member(path, "cat/liar.jpg")
    with zf, pytest.raises(MemberRejected) as info:
        read_member(zf, member, max_bytes=10**7)
    assert info.value.reason == "corrupt"


def test_read_member_unsupported_compression(tmp_path: Path) -> None:
    path = bi.build_zip(
        tmp_path / "d64.zip",
        [bi.ZipEntry("a.jpg", bi.jpeg_photo(), compress=zipfile.ZIP_STORED)],
    )
    raw = bytearray(path.read_bytes())
    struct.pack_into("<H", raw, 8, 9)  # local header: method 9 (deflate64)
    struct.pack_into("<H", raw, raw.rindex(b"PK\x01\x02") + 10, 9)  # central header
    path.write_bytes(bytes(raw))
    zf, member = _member(path, "a.jpg")
    with zf, pytest.raises(MemberRejected) as info:
        read_member(zf, member, max_bytes=10**7)
    assert info.value.reason == "unsupported_compression"


def _patch_central_headers(path: Path, offset: int, value: bytes) -> None:
    """Overwrite a field of every central directory header (hostile archives by hand)."""
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        raw[at + offset : at + offset + len(value)] = value
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))


def test_zip_needing_a_newer_version_is_refused_not_a_crash(tmp_path: Path) -> None:
    """zipfile raises NotImplementedError ("zip file version 20.3"): was a 500."""
    path = bi.build_zip(tmp_path / "new.zip", [bi.ZipEntry("cat/1.jpg", bi.jpeg_photo())])
    _patch_central_headers(path, 6, struct.pack("<H", 203))  # version needed to extract
    with pytest.raises(ArchiveRejected) as info:
        scan(path)
    assert "new.zip is not a readable ZIP archive" in info.value.message


def test_entry_with_an_empty_name_is_a_per_file_error(tmp_path: Path) -> None:
    """`ZipInfo.is_dir()` raises IndexError for an empty name: was a 500."""
    path = tmp_path / "empty_name.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("cat/1.jpg", bi.jpeg_photo(seed=1))
        zf.writestr("cat/x.jpg", bi.jpeg_photo(seed=2))
    raw = bytearray(path.read_bytes())
    # Rename "cat/x.jpg" to nothing in its central header: name length 0, name dropped.
    at = raw.rfind(b"PK\x01\x02")
    name_len = struct.unpack("<H", raw[at + 28 : at + 30])[0]
    raw[at + 28 : at + 30] = b"\x00\x00"
    del raw[at + 46 : at + 46 + name_len]
    eocd = raw.rfind(b"PK\x05\x06")
    cd_size = struct.unpack("<I", raw[eocd + 12 : eocd + 16])[0]
    raw[eocd + 12 : eocd + 16] = struct.pack("<I", cd_size - name_len)
    path.write_bytes(bytes(raw))
    members, errors = scan(path)
    assert [m.rel_path for m in members] == ["cat/1.jpg"]
    assert [(e.rel_path, e.code) for e in errors] == [("", "unsafe_path")]
