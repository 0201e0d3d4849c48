"""Blob storage port and adapters."""

from bananabatch.storage.base import Storage, StorageKeyError, StorageUnavailable
from bananabatch.storage.local import LocalStorage

# `S3Storage` lives in `bananabatch.storage.s3` (imported on demand: it loads boto3).
__all__ = ["LocalStorage", "Storage", "StorageKeyError", "StorageUnavailable"]
