"""The `Storage` port's contract, run against every adapter: the local folder and
S3 (moto in server mode over real HTTP). Callers rely on exactly this behaviour,
so both stores must agree on it, missing keys and bad keys included."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bananabatch.config import Settings
from bananabatch.errors import NotFound
from bananabatch.storage.base import Storage, StorageKeyError, Usage
from bananabatch.storage.local import LocalStorage


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, settings: Settings) -> Storage:
    if request.param == "local":
        return LocalStorage(settings.data_dir / "store")
    s3: Storage = request.getfixturevalue("s3_storage")
    return s3


class OneWayStream(io.RawIOBase):
    """A non-seekable source (an HTTP body, a pipe) that can fail part-way."""

    def __init__(self, data: bytes, *, fail_after: int | None = None) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._fail_after is not None and self._pos >= self._fail_after:
            raise OSError("the client went away")
        n = min(len(buffer), len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def test_put_get_round_trip_and_overwrite(store: Storage) -> None:
    store.put_bytes("outputs/j1/o1.png", b"first")
    assert store.get_bytes("outputs/j1/o1.png") == b"first"
    store.put_bytes("outputs/j1/o1.png", b"second, longer")
    assert store.get_bytes("outputs/j1/o1.png") == b"second, longer"
    assert store.size("outputs/j1/o1.png") == len(b"second, longer")


@pytest.mark.parametrize("seekable", [True, False], ids=["file", "stream"])
def test_put_file_copies_and_counts(store: Storage, seekable: bool) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = io.BytesIO(data) if seekable else io.BufferedReader(OneWayStream(data))
    assert store.put_file("assets/ab/big.bin", src) == len(data)
    assert store.get_bytes("assets/ab/big.bin") == data
    assert store.size("assets/ab/big.bin") == len(data)


def test_empty_object(store: Storage) -> None:
    store.put_bytes("thumbs/00/empty.webp", b"")
    assert store.exists("thumbs/00/empty.webp")
    assert store.size("thumbs/00/empty.webp") == 0
    assert store.get_bytes("thumbs/00/empty.webp") == b""
    with store.open("thumbs/00/empty.webp") as fh:
        assert fh.read() == b""


def test_open_streams_and_seeks(store: Storage) -> None:
    data = os.urandom(1024 * 1024 + 3)
    store.put_bytes("outputs/j1/o2.png", data)
    with store.open("outputs/j1/o2.png") as fh:
        assert fh.readable() and fh.seekable()
        got = bytearray()
        while chunk := fh.read(64 * 1024):
            got += chunk
        assert bytes(got) == data
        assert fh.seek(0, io.SEEK_END) == len(data)
        fh.seek(1000)
        assert fh.tell() == 1000
        assert fh.read(10) == data[1000:1010]
        fh.seek(-5, io.SEEK_END)
        assert fh.read() == data[-5:]
        fh.seek(7)
        assert fh.read(3) == data[7:10]


def test_missing_key_is_not_found_everywhere(store: Storage) -> None:
    readers: list[Callable[[str], object]] = [store.get_bytes, store.open, store.size]
    for read in readers:
        with pytest.raises(NotFound, match=re.escape("no such object: outputs/j1/nope.png")):
            read("outputs/j1/nope.png")
    assert store.exists("outputs/j1/nope.png") is False
    store.delete("outputs/j1/nope.png")  # not an error


def test_delete(store: Storage) -> None:
    store.put_bytes("outputs/j1/o3.png", b"x")
    store.delete("outputs/j1/o3.png")
    assert not store.exists("outputs/j1/o3.png")
    assert list(store.iter_keys("outputs/j1")) == []


def test_iter_keys_lists_a_folder(store: Storage) -> None:
    keys = [
        "outputs/j1/a.png",
        "outputs/j1/thumbs/a.webp",
        "outputs/j10/b.png",
        "assets/ab/c.jpg",
    ]
    for key in keys:
        store.put_bytes(key, key.encode())
    assert sorted(store.iter_keys("outputs/j1")) == ["outputs/j1/a.png", "outputs/j1/thumbs/a.webp"]
    assert sorted(store.iter_keys("outputs/j1/")) == sorted(store.iter_keys("outputs/j1"))
    assert sorted(store.iter_keys("outputs")) == sorted(keys[:3])
    assert sorted(store.iter_keys("")) == sorted(keys)
    assert list(store.iter_keys("outputs/j2")) == []
    assert list(store.iter_keys("outputs/j")) == []  # a folder, not a string prefix


BAD_KEYS = ["", "/etc/passwd", "a/../../b", "..", "a\\b", "a\x00b", "a//b", "./a", "a/"]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_bad_keys_are_refused_by_every_method(store: Storage, key: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.put_bytes(key, b"x"),
        lambda: store.put_file(key, io.BytesIO(b"x")),
        lambda: store.get_bytes(key),
        lambda: store.open(key),
        lambda: store.exists(key),
        lambda: store.size(key),
        lambda: store.delete(key),
        lambda: store.discard([key]),
        lambda: store.presign_get(key, 60),
        lambda: store.presign_put(key, "image/png", 60),
    ]
    for call in calls:
        with pytest.raises(StorageKeyError):
            call()
    assert list(store.iter_keys("")) == []


@pytest.mark.parametrize("prefix", ["..", "../x", "/abs", "a//b"])
def test_bad_listing_prefixes_are_refused(store: Storage, prefix: str) -> None:
    with pytest.raises(StorageKeyError):
        list(store.iter_keys(prefix))


def test_a_failed_put_file_leaves_the_old_object_whole(store: Storage) -> None:
    """Atomic writes: a source that breaks part-way never leaves half a file."""
    store.put_bytes("outputs/j1/o4.png", b"old and complete")
    broken = io.BufferedReader(OneWayStream(os.urandom(2 * 1024 * 1024), fail_after=1024 * 1024))
    with pytest.raises(OSError, match="went away"):
        store.put_file("outputs/j1/o4.png", broken)
    assert store.get_bytes("outputs/j1/o4.png") == b"old and complete"
    assert sorted(store.iter_keys("")) == ["outputs/j1/o4.png"]  # no temp object left


def test_health_names_the_kind(store: Storage) -> None:
    health = store.health()
    assert health["ok"] is True
    assert health["kind"] == ("local" if isinstance(store, LocalStorage) else "s3")


@pytest.mark.parametrize("seconds", [0, -1, 7 * 24 * 3600 + 1])
def test_presign_lifetimes_outside_sigv4_limits_are_bugs(store: Storage, seconds: int) -> None:
    with pytest.raises(ValueError, match="expires_seconds"):
        store.presign_get("outputs/j1/a.png", seconds)
    with pytest.raises(ValueError, match="expires_seconds"):
        store.presign_put("outputs/j1/a.png", "image/png", seconds)


def test_local_storage_signs_nothing(tmp_path: Path) -> None:
    """None tells the caller (the RunPod executor) to sign a server URL instead."""
    local = LocalStorage(tmp_path / "store")
    assert local.presign_get("outputs/j1/a.png", 3600) is None
    assert local.presign_put("outputs/j1/a.png", "image/png", 3600) is None


def test_delete_prefix_removes_the_folder_and_counts_what_it_freed(store: Storage) -> None:
    store.put_bytes("outputs/j1/a.png", b"12345")
    store.put_bytes("outputs/j1/thumbs/a.webp", b"123")
    store.put_bytes("outputs/j10/keep.png", b"kept")  # a sibling sharing the name's start
    assert store.usage("outputs/j1") == Usage(files=2, bytes=8)
    assert store.delete_prefix("outputs/j1") == Usage(files=2, bytes=8)
    assert list(store.iter_keys("outputs")) == ["outputs/j10/keep.png"]
    assert store.usage("outputs/j1") == Usage()
    assert store.delete_prefix("outputs/j1/") == Usage()  # nothing left: nothing freed


def test_delete_prefix_never_empties_the_whole_store(store: Storage) -> None:
    store.put_bytes("assets/ab/x.png", b"x")
    for prefix in ("", "/"):
        with pytest.raises(StorageKeyError):
            store.delete_prefix(prefix)
    assert store.exists("assets/ab/x.png")


def test_delete_many_counts_only_what_was_there(store: Storage) -> None:
    store.put_bytes("assets/ab/x.png", b"xx")
    store.put_bytes("thumbs/ab/x.webp", b"t")
    store.put_bytes("assets/cd/y.png", b"yyy")
    freed = store.delete_many(["assets/ab/x.png", "thumbs/ab/x.webp", "assets/zz/missing.png"])
    assert freed == Usage(files=2, bytes=3)
    assert list(store.iter_keys("")) == ["assets/cd/y.png"]
    with pytest.raises(StorageKeyError):
        store.delete_many(["../escape"])


def test_discard_removes_what_is_there_and_skips_the_rest(store: Storage) -> None:
    store.put_bytes("outputs/j1/a.png", b"a")
    store.put_bytes("outputs/j1/thumbs/a.webp", b"t")
    store.put_bytes("outputs/j1/b.png", b"b")
    store.discard(iter(["outputs/j1/a.png", "outputs/j1/thumbs/a.webp", "outputs/j1/gone.png"]))
    assert list(store.iter_keys("")) == ["outputs/j1/b.png"]
    store.discard([])  # nothing to do: not an error
    with pytest.raises(StorageKeyError):  # every key is checked before any is removed
        store.discard(["outputs/j1/b.png", "../escape"])
    assert store.exists("outputs/j1/b.png")
