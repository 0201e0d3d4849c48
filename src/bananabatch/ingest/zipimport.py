"""Safe import of a dataset ZIP.

The archive is hostile until proven otherwise. Before Python's `zipfile` parses
it we read the end-of-central-directory record ourselves and count entries, so a
central directory stuffed with millions of tiny entries is refused without
building millions of `ZipInfo` objects. Then the whole archive is refused for
too many entries, too many uncompressed bytes, or a compression ratio only a zip
bomb has; single bad entries (path escapes, symlinks, encryption) become
per-file errors and the rest of the dataset still imports. Entries are read one
at a time with a cap, never the whole archive into memory.
"""

from __future__ import annotations

import logging
import lzma
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from bananabatch.errors import BadUpload
from bananabatch.ingest.paths import (
    UnsafePath,
    common_root,
    ignored_reason,
    safe_relative_path,
    strip_root,
)

log = logging.getLogger(__name__)

RATIO_MIN_BYTES: Final = 1024 * 1024
"""Ratios are only judged above this many uncompressed bytes: a small entry (a
blank BMP, a text file of spaces) may compress 1000:1 and still be harmless."""

_EOCD_SIG: Final = b"PK\x05\x06"
_EOCD_SIZE: Final = 22
_EOCD64_LOCATOR_SIG: Final = b"PK\x06\x07"
_EOCD64_LOCATOR_SIZE: Final = 20
_EOCD64_SIG: Final = b"PK\x06\x06"
_EOCD64_SIZE: Final = 56
_CENTRAL_HEADER_SIG: Final = b"PK\x01\x02"
_CENTRAL_HEADER_SIZE: Final = 46
_MAX_COMMENT: Final = 0xFFFF
_GIB: Final = 1024**3
_MIB: Final = 1024**2


@dataclass(frozen=True)
class FileError:
    """One file of an upload that was not imported, and why (shown to the user as is)."""

    rel_path: str
    code: str
    message: str


@dataclass(frozen=True)
class SkippedFile:
    """OS clutter left out of an upload on purpose, and why (shown to the user as is)."""

    rel_path: str
    reason: str


@dataclass(frozen=True)
class ZipMember:
    """An entry that passed the path checks; `rel_path` has any common top folder removed."""

    rel_path: str
    size: int
    info: zipfile.ZipInfo


class ArchiveRejected(BadUpload):
    """The whole ZIP is refused (not a ZIP, too big, a zip bomb)."""

    code = "bad_archive"


class MemberRejected(BadUpload):
    """One entry cannot be read; `reason` is the per-file error code."""

    code = "bad_archive_entry"

    def __init__(self, name: str, reason: str, message: str) -> None:
        super().__init__(message, details={"file": name, "reason": reason})
        self.name = name
        self.reason = reason


def _size(n: float) -> str:
    return f"{n / _GIB:.1f} GB" if n >= _GIB else f"{n / _MIB:.1f} MB"


def _not_a_zip(name: str, why: str = "") -> ArchiveRejected:
    extra = f" ({why})" if why else ""
    return ArchiveRejected(
        f"{name} is not a readable ZIP archive{extra}. Create it again with a standard "
        "ZIP tool (or upload the folder instead)."
    )


def _central_directory(fp: BinaryIO, name: str) -> tuple[int, int, int]:
    """(declared entry count, start offset, size) of the central directory."""
    fp.seek(0, 2)
    file_size = fp.tell()
    tail_len = min(file_size, _EOCD_SIZE + _MAX_COMMENT)
    fp.seek(file_size - tail_len)
    tail = fp.read(tail_len)
    pos = tail.rfind(_EOCD_SIG)
    if pos < 0 or len(tail) - pos < _EOCD_SIZE:
        raise _not_a_zip(name)
    eocd_at = file_size - tail_len + pos
    _sig, _d, _dcd, _n_disk, entries, cd_size, _cd_off, _clen = struct.unpack(
        "<4sHHHHIIH", tail[pos : pos + _EOCD_SIZE]
    )
    end_of_cd = eocd_at
    if eocd_at >= _EOCD64_LOCATOR_SIZE:
        fp.seek(eocd_at - _EOCD64_LOCATOR_SIZE)
        locator = fp.read(_EOCD64_LOCATOR_SIZE)
        record_at = eocd_at - _EOCD64_LOCATOR_SIZE - _EOCD64_SIZE
        if locator[:4] == _EOCD64_LOCATOR_SIG and record_at >= 0:
            fp.seek(record_at)
            record = fp.read(_EOCD64_SIZE)
            if record[:4] == _EOCD64_SIG:
                fields = struct.unpack("<4sQHHIIQQQQ", record)
                entries, cd_size = fields[7], fields[8]
                end_of_cd = record_at
    start = end_of_cd - cd_size
    if start < 0:
        raise _not_a_zip(name, "its central directory is damaged")
    return entries, start, cd_size


def _count_entries(fp: BinaryIO, start: int, cd_size: int, stop_after: int) -> int:
    """Walk the central directory headers (46 bytes each) without parsing names."""
    fp.seek(start)
    count = 0
    consumed = 0
    while consumed < cd_size and count <= stop_after:
        header = fp.read(_CENTRAL_HEADER_SIZE)
        if len(header) < _CENTRAL_HEADER_SIZE or header[:4] != _CENTRAL_HEADER_SIG:
            break
        name_len, extra_len, comment_len = struct.unpack("<HHH", header[28:34])
        skip = name_len + extra_len + comment_len
        fp.seek(skip, 1)
        consumed += _CENTRAL_HEADER_SIZE + skip
        count += 1
    return count


def _preflight(path: Path, max_entries: int) -> None:
    name = path.name
    try:
        with path.open("rb") as fp:
            declared, start, cd_size = _central_directory(fp, name)
            if declared > max_entries:
                raise _too_many(name, declared, max_entries)
            counted = _count_entries(fp, start, cd_size, max_entries)
    except OSError as exc:
        raise _not_a_zip(name, str(exc)) from exc
    if counted > max_entries:  # the walk stops early, so the real count is unknown
        raise _too_many(name, counted, max_entries, exact=False)


def _too_many(name: str, count: int, limit: int, *, exact: bool = True) -> ArchiveRejected:
    amount = f"{count}" if exact else f"more than {limit}"
    return ArchiveRejected(
        f"{name} has {amount} entries; the limit is {limit}. Split the dataset into several ZIPs."
    )


def is_symlink(info: zipfile.ZipInfo) -> bool:
    """Unix archivers keep the file mode in the high 16 bits of `external_attr`."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_dir(info: zipfile.ZipInfo) -> bool:
    # Not `info.is_dir()`: it raises IndexError for an entry with an empty name.
    return info.filename.replace("\\", "/").endswith("/")


def _check_totals(
    name: str, infos: list[zipfile.ZipInfo], max_total_bytes: int, max_ratio: float
) -> None:
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > max_total_bytes:
        raise ArchiveRejected(
            f"{name} expands to {_size(total)}, over the {_size(max_total_bytes)} limit. "
            "Split the dataset into several ZIPs."
        )
    bomb = "it looks like a zip bomb. Re-create the archive from the image files."
    if total > RATIO_MIN_BYTES and total / max(packed, 1) > max_ratio:
        raise ArchiveRejected(
            f"{name} expands {total / max(packed, 1):.0f} times its compressed size "
            f"(limit {max_ratio:g}); {bomb}"
        )
    for i in infos:
        if i.file_size > RATIO_MIN_BYTES and i.file_size / max(i.compress_size, 1) > max_ratio:
            raise ArchiveRejected(
                f"{name}: the entry {i.filename!r} expands {i.file_size / max(i.compress_size, 1):.0f}"
                f" times its compressed size (limit {max_ratio:g}); {bomb}"
            )


@dataclass(frozen=True)
class ZipScan:
    """What `scan_zip` found: entries to read, entries refused, clutter left out."""

    members: list[ZipMember]
    errors: list[FileError]
    skipped: list[SkippedFile]


def scan_zip(path: Path, *, max_entries: int, max_total_bytes: int, max_ratio: float) -> ZipScan:
    """List the importable entries of a ZIP on disk, or raise `ArchiveRejected`.

    Returns the members to read (paths made safe, the common top folder removed),
    per-entry errors for entries that are refused, and the OS clutter left out on
    purpose (`__MACOSX/`, dot files, Thumbs.db) with the reason, so the report
    accounts for every file entry. Directories are not reported.
    """
    name = path.name
    _preflight(path, max_entries)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise _not_a_zip(name, str(exc)) from exc
    except NotImplementedError as exc:  # an entry needs a newer ZIP version than Python reads
        raise _not_a_zip(name, f"unsupported ZIP feature: {exc}") from exc
    if len(infos) > max_entries:
        raise _too_many(name, len(infos), max_entries)
    files = [i for i in infos if not _is_dir(i)]
    _check_totals(name, files, max_total_bytes, max_ratio)

    kept: list[tuple[str, zipfile.ZipInfo]] = []
    errors: list[FileError] = []
    skipped: list[SkippedFile] = []
    seen: set[str] = set()
    for info in files:
        raw = info.filename
        if is_symlink(info):
            errors.append(
                FileError(
                    raw,
                    "symlink",
                    f"{raw}: symbolic links are not imported. Put the real file in the ZIP.",
                )
            )
            continue
        try:
            rel = safe_relative_path(raw)
        except UnsafePath as exc:
            errors.append(FileError(raw, "unsafe_path", exc.message))
            continue
        reason = ignored_reason(rel)
        if reason is not None:
            skipped.append(SkippedFile(rel, reason))
            continue
        if info.flag_bits & 0x1:
            errors.append(
                FileError(
                    rel,
                    "encrypted",
                    f"{rel}: the entry is password-protected. Create the ZIP without a password.",
                )
            )
            continue
        if rel in seen:
            errors.append(
                FileError(
                    rel,
                    "duplicate_path",
                    f"{rel}: the ZIP holds this path more than once; only the first was imported.",
                )
            )
            continue
        seen.add(rel)
        kept.append((rel, info))

    root = common_root(rel for rel, _ in kept)
    if root is not None:
        log.info("%s: stripping common top folder %r", name, root)
    members = [ZipMember(strip_root(rel, root), info.file_size, info) for rel, info in kept]
    return ZipScan(members, errors, skipped)


def read_member(zf: zipfile.ZipFile, member: ZipMember, *, max_bytes: int) -> bytes:
    """The bytes of one entry, reading at most its declared size (+1 byte to catch a lie).

    Raises `MemberRejected` with reason too_large / encrypted /
    unsupported_compression / corrupt.
    """
    info = member.info
    declared = info.file_size
    if declared > max_bytes:
        raise MemberRejected(
            member.rel_path,
            "too_large",
            f"{member.rel_path}: the file is {_size(declared)}, over the {_size(max_bytes)} "
            "limit per file. Downscale or re-compress it.",
        )
    try:
        with zf.open(info) as fh:
            data = fh.read(declared + 1)
    except NotImplementedError as exc:
        raise MemberRejected(
            member.rel_path,
            "unsupported_compression",
            f"{member.rel_path}: the entry uses a compression method this server cannot read "
            f"({exc}). Re-create the ZIP with standard (deflate) compression.",
        ) from exc
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
        raise MemberRejected(
            member.rel_path,
            "encrypted",
            f"{member.rel_path}: the entry is password-protected. "
            "Create the ZIP without a password.",
        ) from exc
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as exc:
        raise MemberRejected(
            member.rel_path,
            "corrupt",
            f"{member.rel_path}: the entry is damaged inside the ZIP ({exc}). "
            "Re-create the archive.",
        ) from exc
    if len(data) != declared:
        raise MemberRejected(
            member.rel_path,
            "corrupt",
            f"{member.rel_path}: the entry holds {len(data)} bytes but its header says "
            f"{declared}. Re-create the archive.",
        )
    return data
