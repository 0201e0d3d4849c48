"""Stored sizes for an export, measured before its first byte.

The archive's exact length needs every object's size up front. A `size()` is a
stat on local storage but a HEAD round trip on S3, and thousands of them in a
row would hold the first byte back for minutes; so the keys are measured
concurrently, once, and looked up afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Select
from sqlalchemy.orm import Session

from bananabatch.db.models import Asset, Output, OutputStatus
from bananabatch.errors import NotFound
from bananabatch.storage.base import Storage

logger = logging.getLogger(__name__)

# Requests in flight while measuring; S3 answers HEADs in parallel without complaint.
MEASURE_THREADS = 16


def _size_or_none(storage: Storage, key: str) -> int | None:
    try:
        return storage.size(key)
    except NotFound:
        return None


class SizeBook:
    """Sizes of stored objects (None = missing), measured in bulk by `prefetch`; a key
    not prefetched (an output that finished meanwhile) is measured when asked for."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._sizes: dict[str, int | None] = {}

    def prefetch(self, keys: Iterable[str]) -> None:
        todo = sorted({k for k in keys if k not in self._sizes})
        if not todo:
            return
        if len(todo) == 1:
            self._sizes[todo[0]] = _size_or_none(self._storage, todo[0])
            return
        threads = min(MEASURE_THREADS, len(todo))
        with ThreadPoolExecutor(threads, thread_name_prefix="export-size") as pool:
            for key, size in zip(
                todo, pool.map(lambda k: _size_or_none(self._storage, k), todo), strict=True
            ):
                self._sizes[key] = size
        logger.debug("measured %d stored objects with %d threads", len(todo), threads)

    def prefetch_export(
        self,
        session: Session,
        outputs: Select[Output, str, int, str],
        wanted: frozenset[str] | None,
        include_originals: bool,
    ) -> None:
        """Prefetch every object an export's entries will need: the images of the
        succeeded outputs `outputs` selects (an Output + Asset outer join) among
        `wanted`, and their originals when included."""
        stmt = outputs.with_only_columns(
            Output.id,
            Output.status,
            Output.storage_key,
            Asset.storage_key,
            maintain_column_froms=True,
        )
        keys: set[str] = set()
        for output_id, status, output_key, asset_key in session.execute(stmt):
            if wanted is not None and output_id not in wanted:
                continue
            if status == OutputStatus.succeeded and output_key:
                keys.add(output_key)
            if include_originals and asset_key:
                keys.add(asset_key)
        self.prefetch(keys)

    def get(self, key: str) -> int | None:
        if key not in self._sizes:
            self._sizes[key] = _size_or_none(self._storage, key)
        return self._sizes[key]
