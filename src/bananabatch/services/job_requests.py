"""Job creation requests and estimate answers: one definition shared by the
HTTP API (request bodies), the CLI and the job service."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_VARIATIONS = 100
MAX_COUNT = 1000


def _no_nul(value: str) -> str:
    """NUL bytes are never meaningful in a prompt or name, and some databases refuse them."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\x00)")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class JobOptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspect_ratio: str | None = Field(
        default=None, description='e.g. "1:1", "16:9"; model default when empty.'
    )
    image_size: str | None = Field(
        default=None, description='e.g. "1K", "2K", "4K" where the model has sizes.'
    )
    output_format: Literal["png", "jpeg", "webp"] = "png"


class AutomaticJobCreate(BaseModel):
    """Dataset augmentation: every image of a dataset x N variations."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["automatic"] = "automatic"
    name: Text = Field(default="", max_length=200)
    dataset_id: str
    prompt: Text = Field(max_length=8000)
    variations: int = Field(default=1, ge=1, le=MAX_VARIATIONS)
    model: str | None = None
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
    per_class_prompts: dict[str, Text] = Field(default_factory=dict)
    prompts_csv: Text | None = Field(
        default=None, description="CSV of path,prompt rows; overrides per image."
    )
    priority: int = Field(default=0, ge=-100, le=100)


class SemiAutoPromptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Text = Field(max_length=8000)
    count: int = Field(default=40, ge=1, le=MAX_COUNT)


class SemiAutoJobCreate(BaseModel):
    """Creative generation: shared reference images, prompts with counts split into runs."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["semi_auto"] = "semi_auto"
    name: Text = Field(default="", max_length=200)
    reference_asset_ids: list[str] = Field(default_factory=list, max_length=64)
    prompts: list[SemiAutoPromptIn] = Field(min_length=1, max_length=100)
    model: str | None = None
    seed: int | None = Field(default=None, ge=0, lt=2**31)
    options: JobOptionsIn = Field(default_factory=JobOptionsIn)
    priority: int = Field(default=0, ge=-100, le=100)


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
    price_per_image: float
    cost_usd: float
    model: str
    model_known: bool
    provider: str
    warnings: list[str]
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


class PromptPreview(BaseModel):
    source_path: str | None
    batch: str
    variation: int
    prompt: str
