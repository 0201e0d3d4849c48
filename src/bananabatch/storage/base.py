"""The storage port: keys are forward-slash paths relative to the store root.

Key layout (see `storage/keys.py`): content-addressed assets, thumbnails, and
outputs laid out per job. Writes are atomic: a reader never sees half a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol

from bananabatch.errors import BadUpload


class StorageKeyError(BadUpload):
    """A key that would escape the store (`..`, absolute path, NUL, backslash)."""

    code = "bad_storage_key"


def check_key(key: str) -> str:
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise StorageKeyError(f"invalid storage key: {key!r}")
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise StorageKeyError(f"invalid storage key: {key!r}")
    return key


class Storage(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, src: BinaryIO) -> int:
        """Copy a file object into `key` atomically; returns bytes written."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def iter_keys(self, prefix: str) -> Iterator[str]: ...

    def health(self) -> dict[str, object]: ...

    def presign_get(self, key: str, expires_seconds: int) -> str | None:
        """A URL anyone may GET `key` at until it expires; None when the store has none."""
        ...

    def presign_put(self, key: str, content_type: str, expires_seconds: int) -> str | None:
        """A URL anyone may PUT `key` at (with this Content-Type) until it expires."""
        ...
