"""The export opens the next objects while one streams (S3's GET latency overlaps)
and releases what it opened ahead when the consumer stops early."""

from __future__ import annotations

import io
import threading
import time
from typing import BinaryIO, cast

import pytest

from bananabatch.errors import NotFound
from bananabatch.export.readahead import ReadAhead
from bananabatch.storage.base import Storage


class Handle(io.BytesIO):
    def __init__(self, data: bytes, log: list[str], key: str) -> None:
        super().__init__(data)
        self._log = log
        self._key = key

    def close(self) -> None:
        if not self.closed:
            self._log.append(f"close {self._key}")
        super().close()


class SlowOpens:
    """`open` takes `delay` seconds, like a GET round trip."""

    def __init__(self, objects: dict[str, bytes], delay: float) -> None:
        self.objects = objects
        self.delay = delay
        self.log: list[str] = []
        self._lock = threading.Lock()

    def open(self, key: str) -> BinaryIO:
        time.sleep(self.delay)
        if key not in self.objects:
            raise NotFound(f"no such object: {key}")
        with self._lock:
            self.log.append(f"open {key}")
        return cast(BinaryIO, Handle(self.objects[key], self.log, key))


def reader(store: SlowOpens, keys: list[str], depth: int = 4) -> ReadAhead:
    return ReadAhead(cast(Storage, store), keys, depth)


def test_opens_overlap_and_bytes_come_in_order() -> None:
    objects = {f"k{i}": bytes([i]) * 1000 for i in range(12)}
    store = SlowOpens(objects, delay=0.05)
    ahead = reader(store, list(objects))
    started = time.perf_counter()
    got = [b"".join(ahead.chunks(i)) for i in range(12)]
    elapsed = time.perf_counter() - started
    ahead.close()
    assert got == list(objects.values())
    assert elapsed < 12 * 0.05 / 2  # one at a time would take 0.6 s
    assert sorted(e for e in store.log if e.startswith("close")) == sorted(
        f"close {k}" for k in objects
    )


def test_nothing_is_opened_before_the_first_object_is_wanted() -> None:
    store = SlowOpens({"a": b"a", "b": b"b"}, delay=0)
    ahead = reader(store, ["a", "b"])
    chunks = ahead.chunks(0)
    assert store.log == []
    assert b"".join(chunks) == b"a"
    ahead.close()


def test_close_releases_what_was_opened_ahead() -> None:
    objects = {f"k{i}": b"x" * 10 for i in range(10)}
    store = SlowOpens(objects, delay=0.01)
    ahead = reader(store, list(objects), depth=3)
    assert b"".join(ahead.chunks(0)) == b"x" * 10
    time.sleep(0.2)  # let the opens ahead finish
    ahead.close()
    time.sleep(0.05)
    opened = {e.split()[1] for e in store.log if e.startswith("open")}
    closed = {e.split()[1] for e in store.log if e.startswith("close")}
    assert opened == {"k0", "k1", "k2", "k3"}  # the one read, and three ahead
    assert closed == opened  # nothing left open
    with pytest.raises(RuntimeError, match="closed"):
        next(ahead.chunks(1))


def test_a_missing_object_fails_when_its_turn_comes() -> None:
    store = SlowOpens({"a": b"a", "c": b"c"}, delay=0)
    ahead = reader(store, ["a", "gone", "c"])
    assert b"".join(ahead.chunks(0)) == b"a"
    with pytest.raises(NotFound, match="gone"):
        b"".join(ahead.chunks(1))
    ahead.close()


def test_depth_zero_opens_in_the_callers_thread_when_reached() -> None:
    threads: list[str] = []
    store = SlowOpens({"a": b"a", "b": b"b"}, delay=0)
    original = store.open

    def open_here(key: str) -> BinaryIO:
        threads.append(threading.current_thread().name)
        return original(key)

    store.open = open_here  # type: ignore[method-assign]
    ahead = reader(store, ["a", "b"], depth=0)
    assert b"".join(ahead.chunks(0)) == b"a"
    assert store.log == ["open a", "close a"]  # b not opened yet
    assert b"".join(ahead.chunks(1)) == b"b"
    assert threads == [threading.current_thread().name] * 2
    ahead.close()
