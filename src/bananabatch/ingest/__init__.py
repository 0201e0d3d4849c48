"""Ingest: uploads and dataset ZIPs -> validated, content-addressed assets and dataset items.

The API layer streams request bodies to disk and calls `ingest_files` /
`ingest_zip` / `store_asset`; everything here is synchronous (run it in a
worker thread from async code).
"""

from bananabatch.ingest.dataset_items import (
    DatasetSummary,
    FolderSummary,
    create_dataset,
    dataset_sources,
    dataset_summary,
)
from bananabatch.ingest.images import ImageRejected, ValidatedImage, validate_image
from bananabatch.ingest.paths import UnsafePath, is_ignored_path, safe_relative_path
from bananabatch.ingest.service import (
    IngestedFile,
    IngestReport,
    ingest_files,
    ingest_zip,
    store_asset,
)
from bananabatch.ingest.thumbnails import make_thumbnail
from bananabatch.ingest.zipimport import (
    ArchiveRejected,
    FileError,
    SkippedFile,
    ZipMember,
    ZipScan,
    scan_zip,
)

__all__ = [
    "ArchiveRejected",
    "DatasetSummary",
    "FileError",
    "FolderSummary",
    "ImageRejected",
    "IngestReport",
    "IngestedFile",
    "SkippedFile",
    "UnsafePath",
    "ValidatedImage",
    "ZipMember",
    "ZipScan",
    "create_dataset",
    "dataset_sources",
    "dataset_summary",
    "ingest_files",
    "ingest_zip",
    "is_ignored_path",
    "make_thumbnail",
    "safe_relative_path",
    "scan_zip",
    "store_asset",
    "validate_image",
]
