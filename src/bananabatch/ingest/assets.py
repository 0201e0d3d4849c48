"""An uploaded image as a stored asset: content-addressed by the sha256 of its bytes,
validated by a real decode, thumbnailed once. `prepare_image` is the CPU part (no
session, safe on worker threads); `store_asset` writes the blobs and the row."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bananabatch.db.models import Asset, utcnow
from bananabatch.errors import BadUpload
from bananabatch.ingest.images import ImageRejected, ValidatedImage, validate_image
from bananabatch.ingest.thumbnails import make_thumbnail, validate_plain_jpeg
from bananabatch.storage.base import Storage
from bananabatch.storage.keys import asset_key, thumb_key

log = logging.getLogger(__name__)
THUMB_SIZE = 256


def _insert_asset_ignoring_conflict(session: Session, values: dict[str, object]) -> bool:
    """INSERT that tolerates a concurrent upload of the same bytes; False if it lost the race."""
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        result = session.execute(insert(Asset).values(**values).on_conflict_do_nothing())
        return bool(getattr(result, "rowcount", 1))
    session.add(Asset(**values))
    session.flush()
    return True


@dataclass(frozen=True)
class PreparedImage:
    """The CPU work of one upload, done off the request's thread (decoding releases the
    GIL, so a window of files uses every core): its hash, the validated image (or why
    it is refused) and its thumbnail."""

    sha: str
    image: ValidatedImage | None
    thumbnail: bytes | None
    error: ImageRejected | None = None


def prepare_image(data: bytes, *, name: str, max_pixels: int) -> PreparedImage:
    sha = hashlib.sha256(data).hexdigest()
    try:
        plain = validate_plain_jpeg(data, name=name, max_pixels=max_pixels, size=THUMB_SIZE)
        if plain is not None:
            return PreparedImage(sha, plain[0], plain[1])
        image = validate_image(data, name=name, max_pixels=max_pixels)
    except ImageRejected as exc:
        return PreparedImage(sha, None, None, exc)
    try:
        thumb: bytes | None = make_thumbnail(image.data, THUMB_SIZE)
    except ImageRejected as exc:
        log.warning("%s: no thumbnail: %s", name, exc.message)
        thumb = None
    return PreparedImage(sha, image, thumb)


def store_asset(
    session: Session,
    storage: Storage,
    data: bytes,
    *,
    name: str,
    max_pixels: int,
    prepared: PreparedImage | None = None,
) -> tuple[Asset, bool, tuple[str, ...]]:
    """Validate and store one image; returns (asset, duplicate, notes). Does not commit.

    The id is the sha256 of the bytes as uploaded. A known id stores nothing new
    (the blob is rewritten only if it went missing from storage). Raises
    `ImageRejected` for an unusable image.
    """
    sha = prepared.sha if prepared is not None else hashlib.sha256(data).hexdigest()
    existing = session.get(Asset, sha)
    if existing is not None and storage.exists(existing.storage_key):
        if existing.thumb_key is None or not storage.exists(existing.thumb_key):
            _write_thumbnail(storage, sha, storage.get_bytes(existing.storage_key), existing)
        return existing, True, ()

    if prepared is not None and prepared.error is not None:
        raise prepared.error
    image = (
        prepared.image
        if prepared is not None and prepared.image is not None
        else validate_image(data, name=name, max_pixels=max_pixels)
    )
    key = asset_key(sha, image.ext)
    storage.put_bytes(key, image.data)
    if existing is not None:  # DB row whose blob was lost: repair it in place
        log.warning("asset %s was missing from storage; rewrote %s", sha, key)
        existing.storage_key = key
        _write_thumbnail(storage, sha, image.data, existing)
        session.flush()
        return existing, True, image.notes

    values: dict[str, object] = {
        "id": sha,
        "mime_type": image.mime_type,
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "size_bytes": len(image.data),
        "storage_key": key,
        "thumb_key": None,
        "created_at": utcnow(),
    }
    tkey = thumb_key(sha)
    if not storage.exists(tkey):
        try:
            thumb = (
                prepared.thumbnail
                if prepared is not None and prepared.thumbnail is not None
                else make_thumbnail(image.data, THUMB_SIZE)
            )
            storage.put_derived(tkey, thumb)
        except ImageRejected as exc:
            log.warning("%s: no thumbnail: %s", name, exc.message)
            tkey = ""
    values["thumb_key"] = tkey or None
    inserted = _insert_asset_ignoring_conflict(session, values)
    asset = session.get(Asset, sha, populate_existing=True)
    if asset is None:  # the row was just inserted or already there; never expected
        raise BadUpload(f"{name}: the asset could not be saved; upload it again.")
    return asset, not inserted, image.notes


def _write_thumbnail(storage: Storage, sha: str, data: bytes, asset: Asset) -> None:
    tkey = thumb_key(sha)
    try:
        storage.put_derived(tkey, make_thumbnail(data, THUMB_SIZE))
    except ImageRejected as exc:
        log.warning("asset %s: no thumbnail: %s", sha, exc.message)
        asset.thumb_key = None
        return
    asset.thumb_key = tkey
