"""HTTP routes of the fake Files and Batch APIs (see `files.py` and `batch.py`).

Every route checks the API key like generateContent, except the upload URL's chunks
(the session in the URL authorises them, as on the real service). Calls that pass
the check are counted per SDK method in `BatchStore.api_calls`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.gemini.files import FILE_RE, FILES_RE, UPLOAD_START_RE
from tests.fakes.gemini.wire import error_body, first

if TYPE_CHECKING:
    from tests.fakes.gemini.server import FakeGeminiServer

BATCH_CREATE_RE = re.compile(
    r"^/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+):batchGenerateContent$"
)
BATCH_RE = re.compile(r"^/(?P<version>v1beta|v1)/batches(?:/(?P<id>[^/:]+)(?P<cancel>:cancel)?)?$")


@dataclass
class RawReply:
    """A reply that is not plain JSON: upload headers, or a file's bytes."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=UTF-8"
    pace: float = 0.0  # seconds between lines of the body, as a slow download


Reply = tuple[int, dict[str, Any]] | RawReply


def route(
    fake: FakeGeminiServer,
    method: str,
    path: str,
    params: dict[str, list[str]],
    headers: dict[str, str],
    raw: bytes,
    api_key: str | None,
) -> Reply | None:
    """The answer of a Files/Batch route, or None when `path` is not one of them."""
    upload = UPLOAD_START_RE.match(path)
    file_match = FILE_RE.match(path)
    file_list = FILES_RE.match(path) if method == "GET" else None
    create = BATCH_CREATE_RE.match(path)
    batch = BATCH_RE.match(path)
    if not (upload or file_match or file_list or create or batch):
        return None
    refusal = fake._refuse_key(api_key) if "upload_id" not in params else None
    if refusal is not None:
        return refusal[0], refusal[1]
    if upload and method == "POST":
        if "upload_id" not in params:
            fake.batches.count("files.upload")
        return _upload(fake, params, headers, raw)
    if file_match:
        return _file(fake, method, file_match, raw)
    if file_list:
        fake.batches.count("files.list")
        files, next_token = fake.files.page(
            max(1, min(int(first(params, "pageSize") or "10"), 100)),
            first(params, "pageToken"),
            now=fake.now(),
        )
        version = file_list.group("version")
        body: dict[str, Any] = {"files": [f.resource(fake.base_url, version) for f in files]}
        if next_token:
            body["nextPageToken"] = next_token
        return 200, body
    if create and method == "POST":
        fake.batches.count("batches.create")
        return _create(fake, create.group("model"), raw, api_key)
    if batch:
        return _batch(fake, method, batch, params)
    return error_body(404, f"Method or path not found: {method} {path}")


def _upload(
    fake: FakeGeminiServer, params: dict[str, list[str]], headers: dict[str, str], raw: bytes
) -> Reply:
    command = headers.get("x-goog-upload-command", "")
    upload_id = first(params, "upload_id")
    if upload_id is None:
        if "start" not in command:
            return error_body(400, "X-Goog-Upload-Command: start is required")
        meta = json.loads(raw or b"{}")
        new_id = fake.files.start_upload(meta, headers)
        url = f"{fake.base_url}/upload/v1beta/files?upload_id={new_id}&upload_protocol=resumable"
        return RawReply(200, b"", {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})
    final = "finalize" in command
    try:
        stored = fake.files.append(upload_id, raw, now=fake.now(), final=final)
    except KeyError:
        return error_body(404, "Upload session not found.")
    if stored is None:
        return RawReply(200, b"", {"X-Goog-Upload-Status": "active"})
    body = json.dumps({"file": stored.resource(fake.base_url, "v1beta")}).encode()
    return RawReply(200, body, {"X-Goog-Upload-Status": "final"})


def _file(fake: FakeGeminiServer, method: str, match: re.Match[str], raw: bytes) -> Reply:
    name = f"files/{match.group('id')}"
    download = bool(match.group("download"))
    fake.batches.count(
        "files.delete" if method == "DELETE" else "files.download" if download else "files.get"
    )
    if method == "DELETE":
        return (200, {}) if fake.files.delete(name) else _missing_file(name)
    stored = fake.files.get(name, now=fake.now())
    if stored is None:
        return _missing_file(name)
    if not download:
        return 200, stored.resource(fake.base_url, match.group("version"))
    if not stored.generated:
        return error_body(400, "Only generated files can be downloaded.")
    with fake._lock:
        fake.downloads += 1
    if fake.files.take_download_failure(name):
        controls = fake.batch_controls
        fake._sleep(controls.lost_stall)
        if controls.lost_status == 404:
            return _missing_file(name)
        return error_body(controls.lost_status, "The service is currently unavailable.")
    pace = fake.batch_controls.download_pace
    return RawReply(200, stored.data, content_type="application/octet-stream", pace=pace)


def _missing_file(name: str) -> Reply:
    return error_body(404, f"File {name} not found or you do not have permission to access it.")


def _create(fake: FakeGeminiServer, model: str, raw: bytes, api_key: str | None) -> Reply:
    try:
        made = fake.batches.create(model, json.loads(raw or b"{}"), api_key, fake.now())
    except LookupError as exc:
        return error_body(404, str(exc))
    except (ValueError, KeyError, TypeError) as exc:
        return error_body(400, f"Invalid batch: {exc}")
    fake._sleep(fake.batch_controls.create_delay)
    return 200, made.resource()


def _batch(
    fake: FakeGeminiServer, method: str, match: re.Match[str], params: dict[str, list[str]]
) -> Reply:
    batch_id = match.group("id")
    if batch_id is None:
        if method != "GET":
            return error_body(404, f"Method not found: {method} batches")
        fake.batches.count("batches.list")
        size = int(first(params, "pageSize") or "50")
        token = first(params, "pageToken")
        page, next_token = fake.batches.page(max(1, min(size, 1000)), token)
        body: dict[str, Any] = {"operations": [b.resource() for b in page]}
        if next_token:
            body["nextPageToken"] = next_token
        return 200, body
    name = f"batches/{batch_id}"
    if match.group("cancel"):
        fake.batches.count("batches.cancel")
        return (200, {}) if fake.batches.cancel(name, fake.now()) else _missing_batch(name)
    if method == "DELETE":
        fake.batches.count("batches.delete")
        return (200, {}) if fake.batches.delete(name) else _missing_batch(name)
    fake.batches.count("batches.get")
    found = fake.batches.read(name, fake.now(), fake.generate_line)
    return (200, found.resource()) if found is not None else _missing_batch(name)


def _missing_batch(name: str) -> Reply:
    return error_body(404, f"Batch {name} not found.")
