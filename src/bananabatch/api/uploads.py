"""Streaming multipart parsing straight to disk.

Starlette's form parser keeps every file under 1 MB in memory (a spooled temp
file), so a folder upload of 1,000 small photos would sit in RAM, and its files
have no path a ZIP reader could open. Here every file part goes to its own named
file in a per-request temp folder as the bytes arrive; memory use is one chunk
whatever the request size. The body-size limit is enforced by
`BodyLimitMiddleware` while the stream is read.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from bananabatch.errors import BadUpload
from bananabatch.tmpfiles import tmp_root

log = logging.getLogger(__name__)

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS_TOTAL_BYTES = 16 * 1024 * 1024
"""Form fields (the `paths`) are kept in memory: bounded as a whole, not only one by one,
so a body of nothing but fields cannot fill the memory up to the request size limit."""


class UnsupportedMediaType(BadUpload):
    status_code = 415
    code = "unsupported_media_type"


class MalformedUpload(BadUpload):
    code = "malformed_multipart"


@dataclass
class UploadedFile:
    field: str
    filename: str
    path: Path
    size: int = 0


@dataclass
class ParsedForm:
    files: list[UploadedFile] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def files_named(self, name: str) -> list[UploadedFile]:
        return [f for f in self.files if f.field == name]


@contextmanager
def upload_dir(data_dir: Path) -> Iterator[Path]:
    """A private temp folder next to the store (same disk), removed afterwards (or, after
    a crash, on the next start: `tmpfiles.remove_stale_tmp`)."""
    root = tmp_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _decode(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("latin-1")


class _Collector:
    """python-multipart callbacks writing file parts to disk and keeping small fields."""

    def __init__(
        self,
        dest: Path,
        *,
        file_fields: frozenset[str],
        max_files: int,
        max_fields: int,
        charset: str,
    ) -> None:
        self.dest = dest
        self.file_fields = file_fields
        self.max_files = max_files
        self.max_fields = max_fields
        self.charset = charset
        self.form = ParsedForm()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field_count = 0
        self._current_file: UploadedFile | None = None
        self._fh: IO[bytes] | None = None
        self._field_name: str | None = None
        self._field_data = bytearray()
        self._fields_total = 0
        self.error: BadUpload | None = None

    def _fail(self, error: BadUpload) -> None:
        self.error = error
        raise error

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._current_file = None
        self._field_name = None
        self._field_data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            self._fail(MalformedUpload("A multipart part has no name in its Content-Disposition."))
        name = _decode(options[b"name"], self.charset)
        if b"filename" in options:
            if name not in self.file_fields:
                expected = " or ".join(sorted(self.file_fields))
                self._fail(
                    MalformedUpload(
                        f"Unexpected file part {name!r}; send the files as parts named {expected}."
                    )
                )
            if len(self.form.files) >= self.max_files:
                self._fail(
                    MalformedUpload(
                        f"Too many files in one request (the limit is {self.max_files}); "
                        "split the upload into several requests."
                    )
                )
            filename = _decode(options[b"filename"], self.charset)
            path = self.dest / f"{len(self.form.files):06d}.part"
            self._current_file = UploadedFile(field=name, filename=filename, path=path)
            self._fh = path.open("wb")
            self.form.files.append(self._current_file)
        else:
            self._field_count += 1
            if self._field_count > self.max_fields:
                self._fail(
                    MalformedUpload(f"Too many form fields (the limit is {self.max_fields}).")
                )
            self._field_name = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._current_file is not None and self._fh is not None:
            self._fh.write(chunk)
            self._current_file.size += len(chunk)
        elif self._field_name is not None:
            if len(self._field_data) + len(chunk) > MAX_FIELD_BYTES:
                self._fail(
                    MalformedUpload(
                        f"Form field {self._field_name!r} is larger than {MAX_FIELD_BYTES} bytes."
                    )
                )
            self._fields_total += len(chunk)
            if self._fields_total > MAX_FIELDS_TOTAL_BYTES:
                self._fail(
                    MalformedUpload(
                        f"The form fields add up to more than {MAX_FIELDS_TOTAL_BYTES} bytes; "
                        "split the upload into several requests."
                    )
                )
            self._field_data.extend(chunk)

    def on_part_end(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        elif self._field_name is not None:
            value = _decode(bytes(self._field_data), self.charset)
            self.form.fields.setdefault(self._field_name, []).append(value)
        self._current_file = None
        self._field_name = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }


async def parse_multipart_to_disk(
    request: Request,
    dest: Path,
    *,
    file_fields: frozenset[str],
    max_files: int,
    max_fields: int = 20_000,
) -> ParsedForm:
    """Read the request body as multipart/form-data; files go to `dest`, one per part."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            "Send the files as multipart/form-data "
            f"(parts named {' or '.join(sorted(file_fields))})."
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedUpload("The multipart Content-Type has no boundary.")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    collector = _Collector(
        dest, file_fields=file_fields, max_files=max_files, max_fields=max_fields, charset=charset
    )
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        if collector.error is not None:
            raise collector.error from None
        raise MalformedUpload(f"The multipart body is malformed ({exc}).") from exc
    finally:
        collector.close()
    if collector.error is not None:
        raise collector.error
    return collector.form


def open_in_turn(
    pairs: list[tuple[str, UploadedFile]],
) -> Iterator[tuple[str, BinaryIO]]:
    """(name, open file) one at a time, each closed before the next opens (no fd pile-up)."""
    for name, uploaded in pairs:
        with uploaded.path.open("rb") as fh:
            yield name, fh


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_basename(filename: str, default: str) -> str:
    """A harmless file name to keep an upload's name in messages (never a path)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    clean = _SAFE_NAME.sub("_", base).strip(" .")[:120]
    return clean or default


multipart_files_schema: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "The images; each part's filename is its relative "
                            'path ("cat/001.jpg").',
                        },
                        "paths": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Optional relative paths aligned with `files`, for "
                            "clients that cannot put slashes in filenames.",
                        },
                    },
                }
            }
        },
    }
}

multipart_zip_schema: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A ZIP of the dataset (class sub-folders are kept).",
                        }
                    },
                }
            }
        },
    }
}
