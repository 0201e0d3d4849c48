"""Request and response models of the HTTP API, one module per concept.

The web UI generates its TypeScript types from the OpenAPI schema built from
these, so class names are part of the contract. Job, output and dataset views are
defined beside the queries that fill them (`services/queries/`) and job
creation requests in `services/job_requests.py`; all are re-exported here, so the
routes import every model from one place.
"""

from __future__ import annotations

from bananabatch.api.schemas.auth import LoginIn, SessionOut
from bananabatch.api.schemas.datasets import DatasetCreate, DatasetSummaryOut, FolderOut
from bananabatch.api.schemas.errors import ErrorBody, ErrorResponse
from bananabatch.api.schemas.export import ExportPartOut, ExportPartsOut, ExportSelectionIn
from bananabatch.api.schemas.health import (
    DbHealth,
    ExecutorHealth,
    GeminiKeyHealth,
    HealthOut,
    ProviderHealth,
)
from bananabatch.api.schemas.jobs import JobCreated, JobPatch, RetryIn, RetryOut
from bananabatch.api.schemas.model_catalog import ModelOut, ModelSourcesOut, TokenPricesOut
from bananabatch.api.schemas.uploads import (
    FileErrorOut,
    IngestedFileOut,
    IngestReportOut,
    ReplacedItemOut,
    SkippedFileOut,
)
from bananabatch.datasets.schemas import DatasetLabelsOut
from bananabatch.services.job_requests import (
    AutomaticJobCreate,
    BudgetIn,
    EstimateOut,
    JobCheckOut,
    JobCreate,
    JobOptionsIn,
    PromptPreview,
    SemiAutoJobCreate,
    SemiAutoPromptIn,
)
from bananabatch.services.queries import (
    BatchOut,
    DatasetItemOut,
    DatasetItemPage,
    DatasetList,
    DatasetOut,
    JobDetail,
    JobList,
    JobOptionsOut,
    JobSummary,
    OutputOut,
    OutputPage,
    StatusCounts,
)
from bananabatch.services.spend import SpendOut, SpendRow

__all__ = [
    "AutomaticJobCreate",
    "BatchOut",
    "BudgetIn",
    "DatasetCreate",
    "DatasetItemOut",
    "DatasetItemPage",
    "DatasetLabelsOut",
    "DatasetList",
    "DatasetOut",
    "DatasetSummaryOut",
    "DbHealth",
    "ErrorBody",
    "ErrorResponse",
    "EstimateOut",
    "ExecutorHealth",
    "ExportPartOut",
    "ExportPartsOut",
    "ExportSelectionIn",
    "FileErrorOut",
    "FolderOut",
    "GeminiKeyHealth",
    "HealthOut",
    "IngestReportOut",
    "IngestedFileOut",
    "JobCheckOut",
    "JobCreate",
    "JobCreated",
    "JobDetail",
    "JobList",
    "JobOptionsIn",
    "JobOptionsOut",
    "JobPatch",
    "JobSummary",
    "LoginIn",
    "ModelOut",
    "ModelSourcesOut",
    "OutputOut",
    "OutputPage",
    "PromptPreview",
    "ProviderHealth",
    "ReplacedItemOut",
    "RetryIn",
    "RetryOut",
    "SemiAutoJobCreate",
    "SemiAutoPromptIn",
    "SessionOut",
    "SkippedFileOut",
    "SpendOut",
    "SpendRow",
    "StatusCounts",
    "TokenPricesOut",
]
