"""Job creation requests and estimate answers: one definition shared by the
HTTP API (request bodies), the CLI and the job service.

Every free-form field has a documented bound (docs/api.md): a request is
validated whole in memory, so an unbounded CSV or map would let one request
take the server's memory.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bananabatch.domain.templating import MAX_PROMPT_CHARS
from bananabatch.domain.trials import MAX_TRIAL_SIZE
from bananabatch.notify.events import MAX_URL_CHARS, check_webhook_url

MAX_VARIATIONS = 100
MAX_COUNT = 1000
MAX_PROMPTS_CSV_CHARS = 8 * 1024 * 1024
"""About 50,000 rows of a path and a 150-character prompt."""
MAX_PER_CLASS_PROMPTS = 1000
MAX_CLASS_NAME_CHARS = 255
"""A class is a top-level folder name: one path segment (at most 255 bytes on disk)."""
MAX_ID_CHARS = 64
MAX_MODEL_CHARS = 128
MAX_OPTION_CHARS = 32

WebhookUrl = Annotated[str, Field(max_length=MAX_URL_CHARS), AfterValidator(check_webhook_url)]
_WEBHOOK_DESCRIPTION = (
    "http(s) URL POSTed (signed, X-BananaBatch-Signature) when the job completes, fails, is "
    "cancelled or is held at a budget cap; default BANANABATCH_WEBHOOK_URL."
)

_TRIAL_DESCRIPTION = (
    "Try the job on this many images first: a sample across classes (automatic) or across "
    "the prompts (semi-automatic), drawn from the seed. Only those slots run; "
    "POST /jobs/{id}/continue runs the rest and keeps the trial's outputs."
)


def _no_nul(value: str) -> str:
    """NUL bytes are never meaningful in a prompt or name, and some databases refuse them."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\x00)")
    return value


_REQUEST_CONFIG = ConfigDict(extra="forbid", strict=True)
"""Unknown fields are refused, and nothing is coerced: `true` is not 1 and "5" is not 5
(a client sending those has a bug it should hear about). Request models hold no enums
or dates, which strict mode would refuse as JSON strings."""

Text = Annotated[str, AfterValidator(_no_nul)]
Prompt = Annotated[Text, Field(max_length=MAX_PROMPT_CHARS)]
ClassName = Annotated[str, Field(max_length=MAX_CLASS_NAME_CHARS)]
Id = Annotated[str, Field(max_length=MAX_ID_CHARS)]


class JobOptionsIn(BaseModel):
    model_config = _REQUEST_CONFIG

    aspect_ratio: str | None = Field(
        default=None,
        max_length=MAX_OPTION_CHARS,
        description='e.g. "1:1", "16:9"; model default when empty.',
    )
    image_size: str | None = Field(
        default=None,
        max_length=MAX_OPTION_CHARS,
        description='e.g. "1K", "2K", "4K" where the model has sizes.',
    )
    output_format: Literal["png", "jpeg", "webp"] = "png"


# The settings both job requests share, defined once (field order stays each model's own).
Priority = Annotated[int, Field(ge=-100, le=100)]
MaxCost = Annotated[
    float | None,
    Field(
        gt=0,
        le=1_000_000,
        description="Most this job may spend (USD); work that could pass it is held (the job "
        "pauses with the reason) until the cap is raised.",
    ),
]
UseBatchApi = Annotated[
    bool,
    Field(
        description="Send the generations through Gemini's Batch API: half price, results "
        "within 24 h (Gemini models only).",
    ),
]
BatchFallback = Annotated[
    Literal["batch", "standard"],
    Field(
        description="With the Batch API: how outputs of a batch that expired, failed or lost "
        "its results run again: in a new batch, or at the standard price at once.",
    ),
]
TrialSize = Annotated[int | None, Field(ge=1, le=MAX_TRIAL_SIZE, description=_TRIAL_DESCRIPTION)]


class AutomaticJobCreate(BaseModel):
    """Dataset augmentation: every image of a dataset x N variations."""

    model_config = _REQUEST_CONFIG

    mode: Literal["automatic"] = "automatic"
    name: Text = Field(default="", max_length=200)
    dataset_id: Id
    prompt: Prompt
    variations: int = Field(default=1, ge=1, le=MAX_VARIATIONS)
    model: str | None = Field(default=None, max_length=MAX_MODEL_CHARS)
    seed: int | None = Field(default=None, ge=0, lt=2**31)
    options: JobOptionsIn = Field(default_factory=JobOptionsIn)
    include_originals: bool | None = Field(
        default=None,
        description="Put the source images in the export beside their variations. Default: "
        "yes for datasets with labels (YOLO, COCO, VOC) or splits, no otherwise.",
    )
    splits: list[Annotated[str, Field(max_length=255)]] | None = Field(
        default=None,
        max_length=50,
        description="Which splits to augment; the others pass through to the export untouched. "
        "Default: the training split (every image when the dataset has no splits).",
    )
    per_class_prompts: dict[ClassName, Prompt] = Field(
        default_factory=dict,
        max_length=MAX_PER_CLASS_PROMPTS,
        description="Top-level folder (class) -> prompt template for its images.",
    )
    prompts_csv: Text | None = Field(
        default=None,
        max_length=MAX_PROMPTS_CSV_CHARS,
        description="CSV of path,prompt rows; overrides per image.",
    )
    priority: Priority = 0
    max_cost: MaxCost = None
    use_batch_api: UseBatchApi = False
    batch_fallback: BatchFallback = "batch"
    webhook_url: WebhookUrl | None = Field(default=None, description=_WEBHOOK_DESCRIPTION)
    trial: TrialSize = None


class SemiAutoPromptIn(BaseModel):
    model_config = _REQUEST_CONFIG

    prompt: Prompt
    count: int = Field(default=40, ge=1, le=MAX_COUNT)


class SemiAutoJobCreate(BaseModel):
    """Creative generation: shared reference images, prompts with counts split into runs."""

    model_config = _REQUEST_CONFIG

    mode: Literal["semi_auto"] = "semi_auto"
    name: Text = Field(default="", max_length=200)
    reference_asset_ids: list[Id] = Field(default_factory=list, max_length=64)
    prompts: list[SemiAutoPromptIn] = Field(min_length=1, max_length=100)
    model: str | None = Field(default=None, max_length=MAX_MODEL_CHARS)
    seed: int | None = Field(default=None, ge=0, lt=2**31)
    options: JobOptionsIn = Field(default_factory=JobOptionsIn)
    priority: Priority = 0
    max_cost: MaxCost = None
    use_batch_api: UseBatchApi = False
    batch_fallback: BatchFallback = "batch"
    webhook_url: WebhookUrl | None = Field(default=None, description=_WEBHOOK_DESCRIPTION)
    trial: TrialSize = None


class BudgetIn(BaseModel):
    """A new cap for a job; raising it releases a job held at its cap."""

    model_config = _REQUEST_CONFIG

    max_cost: float | None = Field(
        gt=0, le=1_000_000, description="USD; null removes the job's cap."
    )


JobCreate = Annotated[AutomaticJobCreate | SemiAutoJobCreate, Field(discriminator="mode")]


class SplitEstimate(BaseModel):
    """One split of a dataset and what the job does with it."""

    name: str = Field(description='"" for images outside any split folder.')
    images: int
    augmented: bool = Field(description="False: the split passes through untouched.")
    outputs: int = Field(description="Images generated from this split.")


class EstimateOut(BaseModel):
    outputs: int
    tasks: int
    batches: int
    price_per_image: float = Field(description="USD per image, standard (interactive) API.")
    cost_usd: float
    batch_price_per_image: float = Field(description="USD per image through the Batch API.")
    batch_cost_usd: float = Field(description="The same outputs through the Batch API.")
    model: str
    model_known: bool
    model_status: Literal["current", "deprecated", "shut_down"]
    provider: str
    warnings: list[str] = Field(
        description="Accepted, but worth knowing: a deprecated or unknown model, an "
        "unchecked key, a plan detail."
    )
    label_format: str | None = Field(
        default=None, description="Automatic jobs: the dataset's format (yolo, coco, ...)."
    )
    splits: list[SplitEstimate] = Field(
        default_factory=list, description="Automatic jobs: which images of which split are varied."
    )
    skipped_images: int = Field(
        default=0,
        description="Images left out because their labels could not be read completely "
        "(exported as they came).",
    )
    reference_warning: str | None = Field(
        default=None,
        description="Semi-automatic jobs: the model uses fewer reference images than were "
        "given (the classic provider uses only the first); also listed in `warnings`.",
    )
    trial: TrialEstimate | None = Field(
        default=None,
        description="With `trial`: the trial and the rest; the fields above are the whole job.",
    )


class TrialEstimate(BaseModel):
    """A trial run and the rest of its job, priced apart (they add up to the whole job)."""

    outputs: int = Field(description="Images the trial makes.")
    cost_usd: float
    rest_outputs: int = Field(description="Images left for `continue`.")
    rest_cost_usd: float = Field(description="What running the rest will cost.")


class JobCheckOut(BaseModel):
    """A request that passed every check possible before its images are uploaded."""

    model: str = Field(description="The model the job would use.")
    provider: str
    warnings: list[str] = Field(description="Accepted, but worth knowing (as in estimates).")


class PromptPreview(BaseModel):
    source_path: str | None
    batch: str
    variation: int
    prompt: str
