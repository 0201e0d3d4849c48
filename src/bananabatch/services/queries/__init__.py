"""Read side: the views of jobs, batches, outputs and datasets the API answers with.

Every function runs a fixed number of queries whatever the page size (counts by
status come from one GROUP BY, never one query per job), and the cheap
`*_etag` functions let pollers get a 304 without building anything.
"""

from bananabatch.services.queries.datasets import (
    dataset_out,
    dataset_usage,
    list_dataset_items,
    list_datasets,
    resolve_dataset_id,
)
from bananabatch.services.queries.jobs import (
    counts_by_job,
    get_job,
    job_detail,
    job_list_etag,
    list_jobs,
    queue_positions,
    summary_fields,
)
from bananabatch.services.queries.output_view import output_out, output_with_flags
from bananabatch.services.queries.outputs import get_output, list_outputs_json
from bananabatch.services.queries.paging import (
    asset_image_url,
    asset_thumbnail_url,
    check_limit,
    check_offset,
    decode_cursor,
    encode_cursor,
    etag_of,
)
from bananabatch.services.queries.poll_state import (
    PollState,
    job_etag,
    job_etag_of,
    outputs_etag,
    outputs_etag_of,
    poll_state,
)
from bananabatch.services.queries.views import (
    API_PREFIX,
    MAX_OFFSET,
    MAX_PAGE,
    QUEUED_JOB_STATUSES,
    BatchOut,
    GeminiBatchOut,
    JobDetail,
    JobList,
    JobOptionsOut,
    JobSummary,
    QualityOut,
    RemoteActivity,
    StatusCounts,
    UtcDateTime,
    as_utc,
    to_naive_utc,
)
from bananabatch.services.queries.views_datasets import (
    DatasetItemOut,
    DatasetItemPage,
    DatasetJobRef,
    DatasetList,
    DatasetOut,
    DatasetUsage,
)
from bananabatch.services.queries.views_outputs import (
    LabelBoxOut,
    OutputFlagOut,
    OutputOut,
    OutputPage,
)

__all__ = [
    "API_PREFIX",
    "MAX_OFFSET",
    "MAX_PAGE",
    "QUEUED_JOB_STATUSES",
    "BatchOut",
    "DatasetItemOut",
    "DatasetItemPage",
    "DatasetJobRef",
    "DatasetList",
    "DatasetOut",
    "DatasetUsage",
    "GeminiBatchOut",
    "JobDetail",
    "JobList",
    "JobOptionsOut",
    "JobSummary",
    "LabelBoxOut",
    "OutputFlagOut",
    "OutputOut",
    "OutputPage",
    "PollState",
    "QualityOut",
    "RemoteActivity",
    "StatusCounts",
    "UtcDateTime",
    "as_utc",
    "asset_image_url",
    "asset_thumbnail_url",
    "check_limit",
    "check_offset",
    "counts_by_job",
    "dataset_out",
    "dataset_usage",
    "decode_cursor",
    "encode_cursor",
    "etag_of",
    "get_job",
    "get_output",
    "job_detail",
    "job_etag",
    "job_etag_of",
    "job_list_etag",
    "list_dataset_items",
    "list_datasets",
    "list_jobs",
    "list_outputs_json",
    "output_out",
    "output_with_flags",
    "outputs_etag",
    "outputs_etag_of",
    "poll_state",
    "queue_positions",
    "resolve_dataset_id",
    "summary_fields",
    "to_naive_utc",
]
