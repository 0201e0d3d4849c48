"""S3 storage: every object in one bucket (AWS or any S3-compatible service such
as MinIO or R2), under an optional key prefix, through boto3.

Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
/ AWS_SESSION_TOKEN, AWS_PROFILE, an instance or task role); nothing of ours
holds them. Writes are atomic as S3 makes them: a PUT, or a multipart upload
that only becomes visible when completed (and is aborted on failure). Reads
stream (`s3_reader.S3ObjectReader`). A missing key raises `NotFound` as the local
store does; every other failure is a `StorageUnavailable` saying what to fix.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bananabatch.errors import BananaBatchError, ValidationFailed
from bananabatch.storage.base import (
    StorageKeyError,
    Usage,
    check_delete_prefix,
    check_expires,
    check_key,
    check_prefix,
)
from bananabatch.storage.s3_errors import S3Place, error_reason, refused_deletes, storage_error
from bananabatch.storage.s3_reader import S3ObjectReader

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ErrorTypeDef

log = logging.getLogger(__name__)

T = TypeVar("T")
_S3_ERRORS = (ClientError, BotoCoreError, S3UploadFailedError)

READ_BUFFER_BYTES = 256 * 1024
MULTIPART_THRESHOLD_BYTES = 8 * 1024 * 1024
MULTIPART_CHUNK_BYTES = 8 * 1024 * 1024
# Parts uploaded at once, and parts held in memory, per `put_file`: its memory stays
# about MULTIPART_CHUNK_BYTES * (UPLOAD_THREADS + 1), ~24 MiB, whatever the file size.
UPLOAD_THREADS = 2
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 60.0
# The export measures objects concurrently; more than the default 10 connections.
MAX_POOL_CONNECTIONS = 32
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys a request


class S3Storage:
    """The `Storage` port on a bucket. Thread-safe (boto3 clients are)."""

    kind = "s3"
    list_page_size = 1000  # keys per ListObjectsV2 request (S3's maximum)

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        transfer: TransferConfig | None = None,
    ) -> None:
        self.bucket = bucket.strip()
        if not self.bucket:
            raise ValidationFailed("BANANABATCH_S3_BUCKET is empty; name a bucket or unset it.")
        try:
            root = check_prefix(prefix.strip().strip("/"))
        except StorageKeyError:
            raise ValidationFailed(
                f"BANANABATCH_S3_PREFIX={prefix!r} is not a usable key prefix: use folder "
                "names separated by '/', without '.', '..' or empty parts."
            ) from None
        self.prefix = root
        self._root = f"{root}/" if root else ""
        self.endpoint_url = endpoint_url.strip() if endpoint_url and endpoint_url.strip() else None
        self.region = region.strip() if region and region.strip() else None
        self._place = S3Place(self.bucket, self.endpoint_url, self.region)
        session = boto3.session.Session()
        self._client: S3Client = session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=self._config(max_attempts=5, read_timeout=READ_TIMEOUT_SECONDS),
        )
        # Health checks and the startup check fail fast rather than retry for a minute.
        self._probe: S3Client = session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=self._config(max_attempts=1, read_timeout=5.0, connect_timeout=3.0),
        )
        self._transfer = transfer or default_transfer_config()

    def _config(
        self,
        *,
        max_attempts: int,
        read_timeout: float,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> Config:
        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "retries": {"mode": "standard", "total_max_attempts": max_attempts},
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "max_pool_connections": MAX_POOL_CONNECTIONS,
        }
        if self.endpoint_url:
            # S3-compatible services (MinIO, R2, Ceph...) want path-style URLs, and many
            # reject the CRC checksums newer botocore adds to every PUT by default.
            options["s3"] = {"addressing_style": "path"}
            options["request_checksum_calculation"] = "when_required"
            options["response_checksum_validation"] = "when_required"
        return Config(**options)

    @property
    def where(self) -> str:
        """The endpoint as shown to people: no `user:password@` part."""
        return self._place.where

    # -- keys and errors -------------------------------------------------------

    def _full(self, key: str) -> str:
        return self._root + check_key(key)

    def _error(self, exc: BaseException, op: str, key: str | None = None) -> BananaBatchError:
        return storage_error(exc, self._place, op, key)

    def _call(self, op: str, key: str | None, fn: Callable[..., T], **kwargs: Any) -> T:
        try:
            return fn(**kwargs)
        except _S3_ERRORS as exc:
            raise self._error(exc, op, key) from exc

    @staticmethod
    def _content_type(key: str) -> str:
        return mimetypes.guess_type(key)[0] or "application/octet-stream"

    # -- the Storage port ------------------------------------------------------

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._full(key)
        self._call(
            "PutObject",
            None,
            self._client.put_object,
            Bucket=self.bucket,
            Key=full,
            Body=data,
            ContentType=self._content_type(key),
        )

    def put_derived(self, key: str, data: bytes) -> None:
        self.put_bytes(key, data)  # an object store has no cheaper, less durable write

    def put_file(self, key: str, src: BinaryIO) -> int:
        """Streams `src` (multipart above 8 MiB): memory stays bounded by a few parts."""
        full = self._full(key)
        written = 0
        lock = threading.Lock()

        def progress(n: int) -> None:  # called from upload threads; negative on a retry
            nonlocal written
            with lock:
                written += n

        self._call(
            "upload",
            None,
            self._client.upload_fileobj,
            Fileobj=src,
            Bucket=self.bucket,
            Key=full,
            ExtraArgs={"ContentType": self._content_type(key)},
            Callback=progress,
            Config=self._transfer,
        )
        return written

    def get_bytes(self, key: str) -> bytes:
        full = self._full(key)
        response = self._call(
            "GetObject", key, self._client.get_object, Bucket=self.bucket, Key=full
        )
        body = response["Body"]
        try:
            return body.read()
        except _S3_ERRORS as exc:
            raise self._error(exc, "GetObject", key) from exc
        finally:
            body.close()

    def open(self, key: str) -> BinaryIO:
        """Starts one GET (NotFound now, not at the first read) and streams it."""
        full = self._full(key)
        response = self._call(
            "GetObject", key, self._client.get_object, Bucket=self.bucket, Key=full
        )

        def fetch(start: int, etag: str) -> StreamingBody:
            ranged = self._client.get_object(
                Bucket=self.bucket, Key=full, Range=f"bytes={start}-", IfMatch=etag
            )
            return ranged["Body"]

        raw = S3ObjectReader(
            key=key,
            body=response["Body"],
            size=response["ContentLength"],
            etag=response["ETag"],
            fetch=fetch,
            map_error=lambda exc: self._error(exc, "GetObject", key),
        )
        return io.BufferedReader(raw, READ_BUFFER_BYTES)

    def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=full)
        except _S3_ERRORS as exc:
            if error_reason(exc) == "not_found":
                return False
            raise self._error(exc, "HeadObject", key) from exc
        return True

    def size(self, key: str) -> int:
        full = self._full(key)
        response = self._call(
            "HeadObject", key, self._client.head_object, Bucket=self.bucket, Key=full
        )
        return response["ContentLength"]

    def delete(self, key: str) -> None:
        full = self._full(key)
        self._call("DeleteObject", None, self._client.delete_object, Bucket=self.bucket, Key=full)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Paginated listing (`list_page_size` keys a request). Folder markers (`a/`) and keys
        other tools wrote that are not valid here (`a//b`) are skipped."""
        for key, _ in self._listing(prefix):
            yield key

    def _listing(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(key, size) of every valid key under the folder `prefix`."""
        folder = check_prefix(prefix)
        listed = self._root + (f"{folder}/" if folder else "")
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=listed, PaginationConfig={"PageSize": self.list_page_size}
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    key = item.get("Key", "")[len(self._root) :]
                    try:
                        yield check_key(key), int(item.get("Size", 0))
                    except StorageKeyError:
                        log.debug("skipping S3 key %r: not a storage key", key)
        except _S3_ERRORS as exc:
            raise self._error(exc, "ListObjectsV2") from exc

    def usage(self, prefix: str) -> Usage:
        files = total = 0
        for _, size in self._listing(prefix):
            files += 1
            total += size
        return Usage(files, total)

    def delete_many(self, keys: Iterable[str]) -> Usage:
        """One HEAD per key (what is really there, and its size), then DeleteObjects in
        batches of 1000."""
        present: list[tuple[str, int]] = []
        for key in keys:
            full = self._full(key)
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=full)
            except _S3_ERRORS as exc:
                if error_reason(exc) == "not_found":
                    continue
                raise self._error(exc, "HeadObject", key) from exc
            present.append((key, int(head.get("ContentLength", 0))))
        return self._delete_listed(present)

    def discard(self, keys: Iterable[str]) -> None:
        """DeleteObjects only (S3 deletes a missing key without complaint): one request
        per 1000 keys. A key S3 refuses raises, since the caller counts on it gone."""
        refused = self._delete_objects([self._full(key) for key in keys])
        if refused:
            raise refused_deletes(refused, self._place, self._root)

    def delete_prefix(self, prefix: str) -> Usage:
        folder = check_delete_prefix(prefix)
        return self._delete_listed(list(self._listing(folder)))

    def _delete_listed(self, present: list[tuple[str, int]]) -> Usage:
        """Delete listed (key, size) pairs; what S3 refused is logged and not counted."""
        full = [(self._full(key), size) for key, size in present]
        failed = {e.get("Key", "") for e in self._delete_objects([k for k, _ in full])}
        if failed:
            log.warning("S3 refused to delete %d object(s): %s", len(failed), sorted(failed)[:5])
        removed = [size for k, size in full if k not in failed]
        return Usage(len(removed), sum(removed))

    def _delete_objects(self, full_keys: list[str]) -> list[ErrorTypeDef]:
        """DeleteObjects in batches of DELETE_BATCH; the per-key refusals it answered."""
        refused: list[ErrorTypeDef] = []
        for start in range(0, len(full_keys), DELETE_BATCH):
            chunk = full_keys[start : start + DELETE_BATCH]
            response = self._call(
                "DeleteObjects",
                None,
                self._client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
            refused.extend(response.get("Errors", []))
        return refused

    def health(self) -> dict[str, object]:
        """Is the bucket reachable (one fast HEAD)? Says why not in one word."""
        status: dict[str, object] = {"kind": self.kind, "bucket": self.bucket}
        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except _S3_ERRORS as exc:
            log.warning("storage health: %s", self._error(exc, "HeadBucket").message)
            reason = error_reason(exc)  # a 404 on HeadBucket is the bucket itself
            return {
                **status,
                "ok": False,
                "error": "no_bucket" if reason == "not_found" else reason,
            }
        return {**status, "ok": True}

    def check(self) -> None:
        """Raise StorageUnavailable unless the bucket is reachable with these credentials
        (for startup: one request, no retries, a message instead of a traceback)."""
        self._call("HeadBucket", None, self._probe.head_bucket, Bucket=self.bucket)

    def presign_get(self, key: str, expires_seconds: int) -> str | None:
        """A SigV4 GET URL on the configured endpoint (it must be reachable by whoever
        uses the URL). Signed locally: no request is made."""
        full = self._full(key)
        check_expires(expires_seconds)
        return self._call(
            "presign GetObject",
            None,
            self._client.generate_presigned_url,
            ClientMethod="get_object",
            Params={"Bucket": self.bucket, "Key": full},
            ExpiresIn=expires_seconds,
        )

    def presign_put(self, key: str, content_type: str, expires_seconds: int) -> str | None:
        """A SigV4 PUT URL with `Content-Type` among the signed headers: S3 refuses an
        upload that sends another type (SignatureDoesNotMatch)."""
        full = self._full(key)
        check_expires(expires_seconds)
        if not content_type or any(ord(c) < 0x20 or ord(c) == 0x7F for c in content_type):
            raise ValueError(f"invalid content type: {content_type!r}")
        return self._call(
            "presign PutObject",
            None,
            self._client.generate_presigned_url,
            ClientMethod="put_object",
            Params={"Bucket": self.bucket, "Key": full, "ContentType": content_type},
            ExpiresIn=expires_seconds,
        )


def default_transfer_config() -> TransferConfig:
    """Multipart above MULTIPART_THRESHOLD_BYTES, UPLOAD_THREADS parts at once, and at
    most as many parts read ahead from a non-seekable source (s3transfer buffers 10)."""
    config = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD_BYTES,
        multipart_chunksize=MULTIPART_CHUNK_BYTES,
        max_concurrency=UPLOAD_THREADS,
    )
    config.max_in_memory_upload_chunks = UPLOAD_THREADS
    return config
