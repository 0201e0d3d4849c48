"""Local filesystem storage with atomic writes (temp file in the same folder,
fsync, rename)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from bananabatch.errors import NotFound
from bananabatch.storage.base import (
    Usage,
    check_delete_prefix,
    check_expires,
    check_key,
    check_prefix,
)


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file of `key`. `check_key` refuses every key that could leave the root
        (absolute, `..`, `.`, empty parts, backslashes), so the path is built without
        asking the filesystem: resolving it took a syscall per folder on every read
        and write (the store holds no symlinks of its own)."""
        p = self.root / check_key(key)
        if not p.is_relative_to(self.root):
            raise NotFound(f"no such object: {key}")
        return p

    def _atomic_write(self, key: str, writer: bytes | BinaryIO, *, durable: bool = True) -> int:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                if isinstance(writer, bytes):
                    fh.write(writer)
                else:
                    shutil.copyfileobj(writer, fh, 1024 * 1024)
                fh.flush()
                if durable:
                    os.fsync(fh.fileno())
                written = fh.tell()
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def put_bytes(self, key: str, data: bytes) -> None:
        self._atomic_write(key, data)

    def put_derived(self, key: str, data: bytes) -> None:
        self._atomic_write(key, data, durable=False)

    def put_file(self, key: str, src: BinaryIO) -> int:
        return self._atomic_write(key, src)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"no such object: {key}") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"no such object: {key}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(f"no such object: {key}") from exc

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def _remove(self, path: Path) -> int:
        """Bytes freed by removing one file (0 when it was already gone)."""
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def delete_many(self, keys: Iterable[str]) -> Usage:
        files = freed = 0
        for key in keys:
            path = self.path(key)
            if path.is_file():
                n = self._remove(path)
                files += 1
                freed += n
        return Usage(files, freed)

    def discard(self, keys: Iterable[str]) -> None:
        paths = [self.path(key) for key in keys]  # a bad key refuses the whole call
        for path in paths:
            path.unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> Usage:
        folder = check_delete_prefix(prefix)
        removed = self.delete_many(list(self.iter_keys(folder)))
        base = self.path(folder)
        if base.is_dir():  # the emptied folders (and any temp files left by a crash)
            shutil.rmtree(base, ignore_errors=True)
        return removed

    def usage(self, prefix: str) -> Usage:
        files = total = 0
        for key in self.iter_keys(prefix):
            try:
                total += self.path(key).stat().st_size
            except FileNotFoundError:
                continue
            files += 1
        return Usage(files, total)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        prefix = check_prefix(prefix)
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return
        for p in sorted(base.rglob("*")):
            if p.is_file() and not p.name.startswith(".tmp-"):
                yield p.relative_to(self.root).as_posix()

    def health(self) -> dict[str, object]:
        usage = shutil.disk_usage(self.root)
        return {"kind": "local", "ok": os.access(self.root, os.W_OK), "free_bytes": usage.free}

    def presign_get(self, key: str, expires_seconds: int) -> str | None:
        """None: a folder cannot sign URLs; the server signs its own for this key."""
        check_key(key)
        check_expires(expires_seconds)
        return None

    def presign_put(self, key: str, content_type: str, expires_seconds: int) -> str | None:
        """None: a folder cannot sign URLs; the server signs its own for this key."""
        check_key(key)
        check_expires(expires_seconds)
        return None
