"""A seekable file object over one S3 object that streams instead of downloading.

The export reads thousands of objects one after another and the image routes
answer Range requests, so `S3Storage.open` must neither hold an object in memory
nor fetch it to disk. This reader keeps one GET response open and reads from it
as the caller does; a seek only moves the position, and the next read issues a
ranged GET from there. A stream that breaks part-way (connection reset, read
timeout) is resumed from the byte it stopped at, with `If-Match` on the first
ETag so a replaced object is never spliced into the old one.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
)
from urllib3.exceptions import HTTPError as URLLib3Error

from bananabatch.errors import BananaBatchError
from bananabatch.storage.base import StorageUnavailable

if TYPE_CHECKING:
    from botocore.response import StreamingBody

log = logging.getLogger(__name__)

# A broken stream is resumed this many times in a row before the read fails.
MAX_RESUMES = 3
_RESUME_BACKOFF_SECONDS = 0.2
_STREAM_ERRORS = (HTTPClientError, IncompleteReadError, URLLib3Error, ConnectionError, TimeoutError)

# (start, etag) -> a body positioned at `start`; raises ClientError / BotoCoreError.
Fetch = Callable[[int, str], "StreamingBody"]
ErrorMapper = Callable[[BaseException], BananaBatchError]


class S3ObjectReader(io.RawIOBase):
    """Raw, read-only, seekable. Wrap in `io.BufferedReader` for efficient small reads."""

    def __init__(
        self,
        *,
        key: str,
        body: StreamingBody,
        size: int,
        etag: str,
        fetch: Fetch,
        map_error: ErrorMapper,
    ) -> None:
        super().__init__()
        self._key = key
        self._body: StreamingBody | None = body
        self._body_pos = 0  # where the open body will continue
        self._pos = 0  # where the caller is
        self._size = size
        self._etag = etag
        self._fetch = fetch
        self._map_error = map_error

    # -- io.RawIOBase ------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only moves the position; no request until the next read."""
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence: {whence}")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._pos = target
        return target

    def readinto(self, buffer: Any) -> int:
        self._check_open()
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        resumes = 0
        while True:
            try:
                chunk = self._read_body(want)
            except _STREAM_ERRORS as exc:
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise StorageUnavailable(
                        f"Reading {self._key} from S3 broke off {resumes} times in a row "
                        f"({type(exc).__name__}); try again.",
                        details={"reason": "unreachable"},
                    ) from exc
                log.warning(
                    "S3 read of %s broke at byte %d (%s); resuming",
                    self._key,
                    self._pos,
                    type(exc).__name__,
                )
                self._drop_body()
                time.sleep(_RESUME_BACKOFF_SECONDS * resumes)
                continue
            n = len(chunk)
            view[:n] = chunk
            self._pos += n
            self._body_pos += n
            if self._body_pos >= self._size:
                self._finish_body()
            return n

    def close(self) -> None:
        self._drop_body()
        super().close()

    # -- internals ---------------------------------------------------------------

    def _read_body(self, want: int) -> bytes:
        """Up to `want` bytes at the caller's position; never b"" before the end."""
        if self._body is None or self._body_pos != self._pos:
            self._drop_body()
            self._body = self._open_at(self._pos)
            self._body_pos = self._pos
        chunk = self._body.read(want)
        if not chunk:
            # The body ended before the object did: a truncated response.
            raise IncompleteReadError(actual_bytes=self._pos, expected_bytes=self._size)
        return chunk

    def _open_at(self, start: int) -> StreamingBody:
        try:
            return self._fetch(start, self._etag)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                raise StorageUnavailable(
                    f"{self._key} was replaced in S3 while it was being read; read it again.",
                    details={"reason": "changed"},
                ) from exc
            raise self._map_error(exc) from exc
        except BotoCoreError as exc:
            if isinstance(exc, _STREAM_ERRORS):
                raise
            raise self._map_error(exc) from exc

    def _finish_body(self) -> None:
        """Read the body to its end: urllib3 then hands the connection back to the pool
        for the next object instead of closing it (one TCP/TLS handshake saved)."""
        assert self._body is not None
        try:
            self._body.read()
        except (*_STREAM_ERRORS, BotoCoreError):
            self._drop_body()

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")
