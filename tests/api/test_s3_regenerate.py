"""Regenerating rejected outputs on S3 (moto in server mode). It holds the write lock
the orchestrator's rounds wait for, so the old images go in one DeleteObjects per
1000 keys, not a request per key; and when S3 keeps one, nothing is queued (a new
result must never be mistaken for the old image at the slot's key)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bananabatch.config import Settings
from bananabatch.db.models import Output, OutputStatus, ReviewState
from bananabatch.runtime import Runtime, build_runtime
from bananabatch.services.job_delete import outputs_prefix
from bananabatch.services.review import ReviewIn, regenerate_rejected, review_outputs
from bananabatch.storage.base import StorageUnavailable
from bananabatch.storage.s3 import S3Storage
from tests.api.helpers import FinishedJob, insert_job
from tests.integration.test_s3_storage import count_requests, refuse_to_delete

pytestmark = pytest.mark.timeout(120)

N = 30


@pytest.fixture
def s3_runtime(s3_settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(s3_settings)
    yield rt
    rt.engine.dispose()


def _rejected_job(rt: Runtime, n: int) -> FinishedJob:
    """A job of `n` outputs, each with an image and a thumbnail in the bucket, all rejected."""
    job = insert_job(rt, statuses=[OutputStatus.succeeded] * n)
    with rt.session_factory() as s:
        review_outputs(s, job.job_id, ReviewIn(decision=ReviewState.rejected, all_outputs=True))
    assert len(list(rt.storage.iter_keys(outputs_prefix(job.job_id)))) == 2 * n
    return job


def _outputs(rt: Runtime, job_id: str) -> list[Output]:
    with rt.session_factory() as s:
        return list(
            s.scalars(select(Output).where(Output.job_id == job_id).order_by(Output.position))
        )


def test_regenerate_deletes_the_old_images_in_one_request(s3_runtime: Runtime) -> None:
    assert isinstance(s3_runtime.storage, S3Storage)
    job = _rejected_job(s3_runtime, N)
    calls = count_requests(s3_runtime.storage)
    with s3_runtime.session_factory() as s:
        done = regenerate_rejected(s, s3_runtime.storage, s3_runtime.catalog, job.job_id, N)
    assert done.outputs == N
    assert calls == Counter({"DeleteObjects": 1})  # 60 keys; no DeleteObject or HEAD each
    assert list(s3_runtime.storage.iter_keys(outputs_prefix(job.job_id))) == []
    outputs = _outputs(s3_runtime, job.job_id)
    assert {(o.status, o.regenerations, o.storage_key) for o in outputs} == {
        (OutputStatus.pending, 1, None)
    }


def test_a_key_s3_keeps_queues_nothing(s3_runtime: Runtime) -> None:
    assert isinstance(s3_runtime.storage, S3Storage)
    job = _rejected_job(s3_runtime, 3)
    before = _outputs(s3_runtime, job.job_id)
    refuse_to_delete(s3_runtime.storage, before[0].storage_key or "")
    with s3_runtime.session_factory() as s:
        with pytest.raises(StorageUnavailable, match="1 object"):
            regenerate_rejected(s, s3_runtime.storage, s3_runtime.catalog, job.job_id)
        assert not s.in_transaction()  # the write lock went with the refusal
    after = _outputs(s3_runtime, job.job_id)
    assert [(o.status, o.review, o.seed) for o in after] == [
        (OutputStatus.succeeded, ReviewState.rejected, o.seed) for o in before
    ]
