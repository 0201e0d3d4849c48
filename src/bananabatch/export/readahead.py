"""Opening the next few objects while the current one streams.

On S3 every object costs a GET round trip before its first byte (tens of
milliseconds on AWS), so an export of thousands of images read strictly one
after another spends most of its time waiting. `ReadAhead` issues the opens of
the next `depth` objects on a small thread pool, in archive order, so a response
is usually ready when the ZIP writer reaches it. Only the opens run ahead: the
bytes are still read as the stream goes, so memory holds a few open responses,
never an object.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from bananabatch.storage.base import Storage

logger = logging.getLogger(__name__)

READ_AHEAD = 4
READ_CHUNK_BYTES = 256 * 1024


class ReadAhead:
    """Streams objects `keys[i]` in order; `close()` releases whatever was opened
    ahead and never read (a client that went away). `depth=0` opens each object
    when it is reached, in the caller's thread (local files open in microseconds,
    and handing them between threads costs more than it saves)."""

    def __init__(self, storage: Storage, keys: Sequence[str], depth: int = READ_AHEAD) -> None:
        self._storage = storage
        self._keys = list(keys)
        self._depth = depth
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, Future[BinaryIO]] = {}
        self._scheduled = 0
        self._closed = False
        self._lock = threading.Lock()

    def chunks(self, index: int) -> Iterator[bytes]:
        """The bytes of `keys[index]`, read when the consumer gets here."""
        with self._take(index) as fh:
            while chunk := fh.read(READ_CHUNK_BYTES):
                yield chunk

    def _take(self, index: int) -> BinaryIO:
        with self._lock:
            if self._closed:
                raise RuntimeError("the export stream was closed")
            if self._depth <= 0:
                return self._storage.open(self._keys[index])
            self._schedule(index + 1 + self._depth)
            future = self._pending.pop(index, None)
        if future is None:  # asked out of order: open it here
            return self._storage.open(self._keys[index])
        return future.result()

    def _schedule(self, upto: int) -> None:
        while self._scheduled < min(upto, len(self._keys)):
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._depth, thread_name_prefix="export-open")
            i = self._scheduled
            self._scheduled += 1
            self._pending[i] = self._pool.submit(self._storage.open, self._keys[i])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
            self._pending.clear()
            pool, self._pool = self._pool, None
        for future in pending:
            if not future.cancel():
                future.add_done_callback(_close_opened)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if pending:
            logger.debug("export closed with %d objects opened ahead", len(pending))


def _close_opened(future: Future[BinaryIO]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    future.result().close()
