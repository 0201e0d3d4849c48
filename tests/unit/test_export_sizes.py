"""Export sizes are measured concurrently: on S3 each one is a HEAD round trip."""

from __future__ import annotations

import threading
import time
from typing import cast

import pytest

from bananabatch.errors import NotFound
from bananabatch.export.sizes import MEASURE_THREADS, SizeBook
from bananabatch.storage.base import Storage, StorageUnavailable


class SlowSizes:
    """Answers `size` after a delay, like a remote store; counts calls and concurrency."""

    def __init__(self, sizes: dict[str, int], delay: float = 0.02) -> None:
        self.sizes = sizes
        self.delay = delay
        self.calls: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def size(self, key: str) -> int:
        with self._lock:
            self.calls.append(key)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if key == "broken":
                raise StorageUnavailable("the bucket is gone")
            if key not in self.sizes:
                raise NotFound(f"no such object: {key}")
            return self.sizes[key]
        finally:
            with self._lock:
                self.in_flight -= 1


def book(store: SlowSizes) -> SizeBook:
    return SizeBook(cast(Storage, store))


def test_prefetch_measures_concurrently() -> None:
    store = SlowSizes({f"k{i}": i for i in range(64)}, delay=0.05)
    sizes = book(store)
    started = time.perf_counter()
    sizes.prefetch([f"k{i}" for i in range(64)] + ["gone", "k1"])
    elapsed = time.perf_counter() - started
    assert elapsed < 65 * 0.05 / 4  # sequential would take 3.25 s
    assert 1 < store.max_in_flight <= MEASURE_THREADS
    assert sorted(store.calls) == sorted([f"k{i}" for i in range(64)] + ["gone"])  # once each
    assert sizes.get("k7") == 7 and sizes.get("gone") is None
    assert len(store.calls) == 65  # answered from the book


def test_a_key_not_prefetched_is_measured_when_asked() -> None:
    store = SlowSizes({"late": 5}, delay=0)
    sizes = book(store)
    sizes.prefetch([])
    assert store.calls == []
    assert sizes.get("late") == 5 and sizes.get("late") == 5
    assert store.calls == ["late"]


def test_storage_failures_are_not_taken_for_missing_objects() -> None:
    store = SlowSizes({"a": 1, "b": 2}, delay=0)
    with pytest.raises(StorageUnavailable):
        book(store).prefetch(["a", "broken", "b"])
