"""Blob storage port and adapters."""

from bananabatch.storage.base import Storage, StorageKeyError
from bananabatch.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StorageKeyError"]
