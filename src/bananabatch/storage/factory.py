"""The storage the settings name: a bucket, or the data dir's `store` folder."""

from __future__ import annotations

import logging

from bananabatch.config import Settings
from bananabatch.storage.base import Storage
from bananabatch.storage.local import LocalStorage

log = logging.getLogger(__name__)


def build_storage(settings: Settings) -> Storage:
    """The bucket when BANANABATCH_S3_BUCKET is set (checked reachable now, so a wrong
    bucket, endpoint or missing credentials stop the start with a message), else the
    `store` folder in the data dir."""
    bucket = (settings.s3_bucket or "").strip()
    if not bucket:
        return LocalStorage(settings.data_dir / "store")
    from bananabatch.storage.s3 import S3Storage  # boto3 loads only when S3 is configured

    storage = S3Storage(
        bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
    )
    storage.check()
    shown = f"{bucket}/{storage.prefix}" if storage.prefix else bucket
    log.info("storage: S3 bucket %s at %s", shown, storage.where)
    return storage
