"""SQLAlchemy 2 typed models, one module per concept: Job -> Batch -> Task -> Output
(+ flags) in `jobs`, Asset and Dataset (+ items and label files) in `datasets`, the
login sessions, the spend ledger, Gemini batches and the webhook outbox.

Importing this package registers every table on `Base.metadata` (Alembic and the
string foreign keys need them all), and callers import the models from here.
"""

from __future__ import annotations

from bananabatch.db.models.auth import AuthSession
from bananabatch.db.models.base import Base, new_id, utcnow
from bananabatch.db.models.datasets import Asset, Dataset, DatasetFile, DatasetItem
from bananabatch.db.models.gemini_batches import GeminiBatch, GeminiBatchLine
from bananabatch.db.models.jobs import NEXT_CHANGE_SEQ, Batch, Job, Output, OutputFlag, Task
from bananabatch.db.models.spend import SpendEntry
from bananabatch.db.models.statuses import (
    FINAL_OUTPUT_STATUSES,
    TERMINAL_JOB_STATUSES,
    JobStatus,
    OutputStatus,
    ReviewState,
    TaskStatus,
)
from bananabatch.db.models.webhooks import WebhookDelivery

__all__ = [
    "FINAL_OUTPUT_STATUSES",
    "NEXT_CHANGE_SEQ",
    "TERMINAL_JOB_STATUSES",
    "Asset",
    "AuthSession",
    "Base",
    "Batch",
    "Dataset",
    "DatasetFile",
    "DatasetItem",
    "GeminiBatch",
    "GeminiBatchLine",
    "Job",
    "JobStatus",
    "Output",
    "OutputFlag",
    "OutputStatus",
    "ReviewState",
    "SpendEntry",
    "Task",
    "TaskStatus",
    "WebhookDelivery",
    "new_id",
    "utcnow",
]
