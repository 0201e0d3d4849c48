"""The storage port: keys are forward-slash paths relative to the store root.

Key layout (see `storage/keys.py`): content-addressed assets, thumbnails, and
outputs laid out per job. Writes are atomic: a reader never sees half a file.
Adapters: `local.LocalStorage` (a folder) and `s3.S3Storage` (a bucket).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from bananabatch.errors import BadUpload, ServiceUnavailable

# SigV4 presigned URLs are valid for at most 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


class StorageKeyError(BadUpload):
    """A key that would escape the store (`..`, absolute path, NUL, backslash)."""

    code = "bad_storage_key"


class StorageUnavailable(ServiceUnavailable):
    """The store cannot be used right now (unreachable, refused credentials, no
    bucket); the message says which setting to check, never a secret."""

    code = "storage_unavailable"


def check_key(key: str) -> str:
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise StorageKeyError(f"invalid storage key: {key!r}")
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise StorageKeyError(f"invalid storage key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix is a key-shaped folder (`outputs/<job>`), or "" for everything;
    one trailing slash is tolerated."""
    stripped = prefix[:-1] if prefix.endswith("/") else prefix
    return check_key(stripped) if stripped else ""


def check_delete_prefix(prefix: str) -> str:
    """A prefix to delete under: a real folder, never the whole store."""
    folder = check_prefix(prefix)
    if not folder:
        raise StorageKeyError("refusing to delete the whole store: give a folder prefix")
    return folder


def check_expires(seconds: int) -> int:
    """Presigned URL lifetimes: 1 s to 7 days (SigV4's limit); anything else is a bug."""
    if not 1 <= seconds <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"expires_seconds must be 1..{MAX_PRESIGN_SECONDS}, not {seconds}")
    return seconds


@dataclass(frozen=True)
class Usage:
    """How many objects and bytes (under a prefix, or removed by a delete)."""

    files: int = 0
    bytes: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.files + other.files, self.bytes + other.bytes)


class Storage(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_derived(self, key: str, data: bytes) -> None:
        """Like `put_bytes` (atomic) for an object made from another one (a thumbnail):
        not forced to disk, since a crash only means making it again."""
        ...

    def put_file(self, key: str, src: BinaryIO) -> int:
        """Copy a file object into `key` atomically, streaming; returns bytes written."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """The whole object; NotFound when it is missing."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable stream that fetches as it is read (never the whole
        object up front); NotFound when it is missing. Close it."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """Stored bytes; NotFound when it is missing."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""
        ...

    def delete_many(self, keys: Iterable[str]) -> Usage:
        """Remove these keys (missing ones are skipped); returns what was really removed,
        so a caller can say how much space it freed."""
        ...

    def discard(self, keys: Iterable[str]) -> None:
        """Remove these keys if present (missing ones are not an error). No accounting,
        so S3 deletes in batches of 1000 without a HEAD per key: for callers that hold
        the write lock. Every key is checked before any is removed; a key the store
        refuses to remove raises (StorageUnavailable), never passes silently."""
        ...

    def delete_prefix(self, prefix: str) -> Usage:
        """Remove every key under the folder `prefix` (never "": that would be everything);
        returns what was removed."""
        ...

    def usage(self, prefix: str) -> Usage:
        """Objects and bytes under the folder `prefix`, from one listing (no read)."""
        ...

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Every key under the folder `prefix` ("" = all), each once, in the store's order."""
        ...

    def health(self) -> dict[str, object]:
        """`kind` and `ok`, plus what helps an operator; never a secret."""
        ...

    def presign_get(self, key: str, expires_seconds: int) -> str | None:
        """A URL anyone holding it can GET `key` from for `expires_seconds`, or None
        when this store cannot sign one (the server then signs its own URLs)."""
        ...

    def presign_put(self, key: str, content_type: str, expires_seconds: int) -> str | None:
        """A URL that accepts one HTTP PUT of `key`'s bytes for `expires_seconds`, with
        exactly this `Content-Type` header; None when this store cannot sign one."""
        ...
