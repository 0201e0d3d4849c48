"""Manifest rows from DB objects, and their JSON Lines / RFC 4180 CSV encodings."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import fields

from bananabatch.db.models import Batch, Job, Output
from bananabatch.export.manifest import (
    MANIFEST_FIELDS,
    ManifestRow,
    manifest_row,
    rows_to_csv,
    rows_to_jsonl,
)


def _job() -> Job:
    return Job(
        id="j" * 32,
        mode="semi_auto",
        name="Cars",
        provider="classic",
        model="classic",
        reference_asset_ids=["a" * 64, "b" * 64],
    )


def _batch() -> Batch:
    return Batch(id="b" * 32, job_id="j" * 32, position=0, name="a red car", slug="a-red-car")


def _output(**overrides: object) -> Output:
    values: dict[str, object] = {
        "id": "o" * 32,
        "job_id": "j" * 32,
        "batch_id": "b" * 32,
        "task_id": "t" * 32,
        "position": 0,
        "run_index": 2,
        "variation": 3,
        "archive_path": "01-a-red-car/run-003/image-3.png",
        "prompt": "a red car",
        "model": "classic",
        "seed": 42,
        "attempt": 1,
        "status": "succeeded",
        "storage_key": "outputs/j/o.png",
        "mime_type": "image/png",
        "width": 64,
        "height": 48,
        "cost": 0.039,
    }
    values.update(overrides)
    return Output(**values)


def _row(**overrides: object) -> ManifestRow:
    return manifest_row(_job(), _batch(), _output(**overrides))


def test_fields_match_the_declared_order() -> None:
    assert tuple(f.name for f in fields(ManifestRow)) == MANIFEST_FIELDS


def test_row_from_db_objects() -> None:
    row = _row()
    assert row.archive_path == "01-a-red-car/run-003/image-3.png"
    assert row.batch == "a red car"
    assert row.run == 3  # 1-based, like run-003 in the path
    assert row.variation == 3
    assert row.reference_asset_ids == ("a" * 64, "b" * 64)
    assert (row.status, row.error, row.cost, row.attempt) == ("succeeded", None, 0.039, 1)


def test_outputs_without_an_image_have_an_empty_archive_path() -> None:
    assert _row(status="pending", storage_key=None).archive_path == ""
    assert _row(status="failed", storage_key=None, error="boom").error == "boom"
    # A stored file of an output that is not succeeded is not exported either.
    assert _row(status="blocked").archive_path == ""
    assert _row(archive_path="x.png").archive_path == "x.png"
    assert manifest_row(_job(), _batch(), _output(), archive_path="y.jpg").archive_path == "y.jpg"


def test_jsonl_round_trip() -> None:
    rows = [
        _row(),
        _row(id="p" * 32, status="pending", storage_key=None, width=None, prompt='quote " ✓\n'),
    ]
    text = b"".join(rows_to_jsonl(rows)).decode("utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 2
    decoded = [json.loads(line) for line in lines]
    assert list(decoded[0]) == list(MANIFEST_FIELDS)
    assert decoded[0] == rows[0].as_dict()
    assert decoded[1]["width"] is None
    assert decoded[1]["prompt"] == 'quote " ✓\n'
    assert decoded[1]["reference_asset_ids"] == ["a" * 64, "b" * 64]
    assert "✓" in text  # real UTF-8, not \u escapes


def test_csv_is_rfc4180_with_header() -> None:
    tricky = 'comma, "quotes", newline\r\nand ünïcode 車'
    rows = [_row(prompt=tricky), _row(id="p" * 32, status="failed", error="x", width=None)]
    raw = b"".join(rows_to_csv(rows))
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM
    assert raw.startswith(",".join(MANIFEST_FIELDS).encode() + b"\r\n")
    assert raw.endswith(b"\r\n")
    assert b'"comma, ""quotes"", newline\r\nand' in raw  # quoted, quotes doubled
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert parsed[0] == list(MANIFEST_FIELDS)
    assert parsed[1] == rows[0].csv_cells()
    assert parsed[1][MANIFEST_FIELDS.index("prompt")] == tricky
    assert parsed[1][MANIFEST_FIELDS.index("reference_asset_ids")] == f"{'a' * 64};{'b' * 64}"
    assert parsed[1][MANIFEST_FIELDS.index("cost")] == "0.039"
    assert parsed[2][MANIFEST_FIELDS.index("width")] == ""


def test_empty_manifests() -> None:
    assert b"".join(rows_to_jsonl([])) == b""
    assert b"".join(rows_to_csv([])) == ",".join(MANIFEST_FIELDS).encode() + b"\r\n"


def test_large_manifests_stream_in_several_chunks_lazily() -> None:
    consumed = 0

    def rows() -> Iterator[ManifestRow]:
        nonlocal consumed
        for i in range(3000):
            consumed += 1
            yield _row(id=f"{i:032d}", prompt="p" * 100)

    stream = rows_to_jsonl(rows())
    first = next(stream)
    assert 0 < consumed < 3000  # the first chunk did not need every row
    chunks = [first, *stream]
    assert len(chunks) > 1
    assert b"".join(chunks).count(b"\n") == 3000
    csv_chunks = list(rows_to_csv(_row(id=f"{i:032d}") for i in range(3000)))
    assert len(csv_chunks) > 1
    assert b"".join(csv_chunks).count(b"\r\n") == 3001
