"""The fake Files API: resumable uploads, get, paged list, delete and
`:download?alt=media`.

Shapes follow what the official `google-genai` client sends and parses
(`files.upload` -> `POST /upload/v1beta/files` with `X-Goog-Upload-Protocol:
resumable`, then the returned `X-Goog-Upload-URL` with `X-Goog-Upload-Command:
upload, finalize`; `files.download` -> `GET /v1beta/files/{id}:download?alt=media`).
Files are kept 48 hours (https://ai.google.dev/gemini-api/docs/files); the fake's
clock is the server's `now()`, which tests move forward.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

FILE_TTL = timedelta(hours=48)
UPLOAD_START_RE = re.compile(r"^/upload/(?P<version>v1beta|v1)/files$")
FILES_RE = re.compile(r"^/(?P<version>v1beta|v1)/files$")
FILE_RE = re.compile(r"^/(?P<version>v1beta|v1)/files/(?P<id>[^/:]+)(?P<download>:download)?$")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StoredFile:
    name: str  # files/<id>
    mime_type: str
    display_name: str
    created: datetime
    data: bytes = b""
    generated: bool = False  # a batch's result file (downloadable); uploads are not

    def resource(self, base_url: str, version: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "mimeType": self.mime_type,
            "sizeBytes": str(len(self.data)),
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(self.created),
            "expirationTime": rfc3339(self.created + FILE_TTL),
            "sha256Hash": "",
            "uri": f"{base_url}/{version}/{self.name}",
            "state": "ACTIVE",
            "source": "GENERATED" if self.generated else "UPLOADED",
        }
        if self.display_name:
            body["displayName"] = self.display_name
        if self.generated:
            body["downloadUri"] = f"{base_url}/{version}/{self.name}:download?alt=media"
        return body


@dataclass
class _Upload:
    mime_type: str
    display_name: str
    chunks: list[bytes] = field(default_factory=list)


class FileStore:
    """Uploaded and generated files, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}
        self._uploads: dict[str, _Upload] = {}
        self._ids = itertools.count(1)
        self.unreachable: dict[str, int] = {}
        """file name -> downloads still to fail (-1: forever): a result file that is lost."""

    def start_upload(self, meta: dict[str, Any], headers: dict[str, str]) -> str:
        file_meta = meta.get("file") or {}
        mime = (
            headers.get("x-goog-upload-header-content-type")
            or file_meta.get("mimeType")
            or "application/octet-stream"
        )
        upload_id = f"u{next(self._ids)}"
        with self._lock:
            self._uploads[upload_id] = _Upload(mime, str(file_meta.get("displayName") or ""))
        return upload_id

    def append(
        self, upload_id: str, data: bytes, *, now: datetime, final: bool
    ) -> StoredFile | None:
        """Add a chunk; on finalize the file exists (None while the upload is active)."""
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None:
                raise KeyError(upload_id)
            upload.chunks.append(data)
            if not final:
                return None
            del self._uploads[upload_id]
            stored = StoredFile(
                name=f"files/f{next(self._ids)}",
                mime_type=upload.mime_type,
                display_name=upload.display_name,
                created=now,
                data=b"".join(upload.chunks),
            )
            self._files[stored.name] = stored
            return stored

    def add_generated(self, data: bytes, *, now: datetime, display_name: str) -> StoredFile:
        stored = StoredFile(
            name=f"files/batch-{next(self._ids)}",
            mime_type="application/jsonl",
            display_name=display_name,
            created=now,
            data=data,
            generated=True,
        )
        with self._lock:
            self._files[stored.name] = stored
        return stored

    def get(self, name: str, *, now: datetime) -> StoredFile | None:
        with self._lock:
            stored = self._files.get(name)
            if stored is not None and now - stored.created > FILE_TTL:
                del self._files[name]  # expired, like the real service after 48 h
                return None
            return stored

    def page(
        self, size: int, token: str | None, *, now: datetime
    ) -> tuple[list[StoredFile], str | None]:
        """Files still kept, newest first, `size` at a time (the token is an offset)."""
        with self._lock:
            kept = [f for f in self._files.values() if now - f.created <= FILE_TTL]
        kept.sort(key=lambda f: f.created, reverse=True)
        start = int(token) if token else 0
        more = start + size < len(kept)
        return kept[start : start + size], (str(start + size) if more else None)

    def delete(self, name: str) -> bool:
        with self._lock:
            return self._files.pop(name, None) is not None

    def take_download_failure(self, name: str) -> bool:
        """True when this download of `name` must fail (a lost or unreachable result)."""
        with self._lock:
            left = self.unreachable.get(name, 0)
            if left == 0:
                return False
            if left > 0:
                self.unreachable[name] = left - 1
            return True

    def uploaded(self) -> list[StoredFile]:
        """Files uploaded by clients (batch inputs), oldest first."""
        with self._lock:
            return [f for f in self._files.values() if not f.generated]

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._uploads.clear()
            self.unreachable.clear()
