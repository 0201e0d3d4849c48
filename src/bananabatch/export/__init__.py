"""Export: streaming ZIP archives with manifests, and generation metadata in images.

The HTTP routes build on these functions. Metadata embedding lives in
`bananabatch.image_metadata` (the worker embeds it, import-light).
"""

from bananabatch.export.archive import (
    export_entries,
    iter_export_entries,
    stream_job_zip,
    zip_entries,
)
from bananabatch.export.entries import ExportEntry, ExportSelection, export_filename
from bananabatch.export.manifest import (
    MANIFEST_FIELDS,
    ManifestRow,
    manifest_row,
    rows_to_csv,
    rows_to_jsonl,
)
from bananabatch.export.parts import ExportPart, plan_parts, split_parts
from bananabatch.image_metadata import embed_metadata, read_metadata

__all__ = [
    "MANIFEST_FIELDS",
    "ExportEntry",
    "ExportPart",
    "ExportSelection",
    "ManifestRow",
    "embed_metadata",
    "export_entries",
    "export_filename",
    "iter_export_entries",
    "manifest_row",
    "plan_parts",
    "read_metadata",
    "rows_to_csv",
    "rows_to_jsonl",
    "split_parts",
    "stream_job_zip",
    "zip_entries",
]
