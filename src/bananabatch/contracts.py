"""The orchestrator <-> worker contract: one versioned pydantic module used by
both sides (local executor, RunPod handler). Keep it JSON-serialisable and small:
a RunPod `/run` body must stay under 10 MB.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CONTRACT_VERSION = 1


class Mode(StrEnum):
    automatic = "automatic"
    semi_auto = "semi_auto"


class ErrorKind(StrEnum):
    """How a failed provider call is classified; drives the retry decision."""

    blocked = "blocked"  # safety / policy block: permanent, never retried
    no_image = "no_image"  # model answered without an image: retried at most once
    rate_limited = "rate_limited"  # 429: retried after the advised delay
    transient = "transient"  # 5xx, timeout, connection error, worker crash
    invalid = "invalid"  # other 4xx: permanent
    internal = "internal"  # our own bug or unusable input: permanent


Route = Literal["standard", "batch"]

PERMANENT_KINDS = frozenset({ErrorKind.blocked, ErrorKind.invalid, ErrorKind.internal})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageRef(_Model):
    """An image travelling by value (base64), by reference (URL), or, in-process only,
    as a key of the store the worker shares with the orchestrator."""

    mime_type: str
    data_b64: str | None = None
    url: str | None = None
    storage_key: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ImageRef:
        sources = [self.data_b64, self.url, self.storage_key]
        if sum(s is not None for s in sources) != 1:
            raise ValueError("an ImageRef needs exactly one of data_b64, url or storage_key")
        return self


class GenerationOptions(_Model):
    aspect_ratio: str | None = None
    image_size: str | None = None
    output_format: Literal["png", "jpeg", "webp"] = "png"
    fit_to_source: bool = Field(
        default=False,
        description="Dataset augmentation: ask for the listed aspect ratio closest to the "
        "source's and bring the output back to the source's size (the labels follow).",
    )
    aspect_ratio_choices: list[str] = Field(default_factory=list)


class LabelBox(_Model):
    """One labelled object, in pixels of the image it travels with."""

    class_id: int
    bbox: tuple[float, float, float, float]  # x1, y1, x2, y2
    polygons: list[list[float]] = Field(default_factory=list)  # flat x, y lists


class SourceLabels(_Model):
    """An image's labels (YOLO / COCO / VOC datasets) and the frame they refer to."""

    width: int
    height: int
    objects: list[LabelBox] = Field(default_factory=list)


class OutputTransform(_Model):
    """How an output relates to its source, so its labels can be trusted or rebuilt."""

    steps: list[str] = Field(default_factory=list)
    geometric: bool = False  # the layout was moved on purpose (labels moved with it)
    model_size: tuple[int, int] | None = None  # the model's own output size, before fitting
    matrix: list[list[float]] | None = None  # 3x3: source pixels -> output pixels, when known


class OutputChecks(_Model):
    """Measurements the worker makes on every output; the server decides flags from them."""

    phash: str  # perceptual hash, 16 hex digits
    signature: str  # 16x16 grayscale thumbnail, hex: near-duplicates among siblings
    source_distance: int | None = None  # phash bits differing from the source
    source_difference: float | None = None  # mean absolute difference to the source, 0..1
    # The layout against the source as it should appear in this frame (see quality.measure)
    layout_similarity: float | None = None
    layout_shift: float | None = None
    layout_confidence: float | None = None


class UploadTarget(_Model):
    """Where a worker puts an output it does not return inline: a presigned S3 PUT URL
    or a signed upload URL of this server; no URL means the in-process worker writes it
    to the shared store itself. The key is fixed by the output slot, so recovery can
    find (and adopt) an image a worker delivered before a crash."""

    url: str | None
    storage_key: str
    headers: dict[str, str] = Field(default_factory=dict)


class OutputSlot(_Model):
    """One image the task must produce."""

    output_id: str
    prompt: str
    seed: int
    variation: int = Field(ge=1)
    upload: UploadTarget | None = None


class TaskPayload(_Model):
    version: int = CONTRACT_VERSION
    task_id: str
    job_id: str
    mode: Mode
    provider: Literal["classic", "gemini"]
    model: str
    options: GenerationOptions = GenerationOptions()
    references: list[ImageRef] = Field(default_factory=list)
    slots: list[OutputSlot] = Field(min_length=1)
    route: Route = Field(
        default="standard",
        description="standard: one call per image now; batch: Gemini's Batch API (half price, "
        "results within 24 h).",
    )
    labels: SourceLabels | None = None  # the source's labels (automatic, labelled datasets)
    inline_output_limit_bytes: int | None = Field(
        default=None,
        description="Largest image returned inline (base64); larger ones go to the slot's "
        "upload target. None: always inline (the in-process executor).",
    )


class Usage(_Model):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class PaidCall(_Model):
    """One provider call that was billed: an image, or a block or text-only answer
    (Gemini bills the tokens of those too). The spend ledger records each."""

    outcome: Literal["image", "blocked", "no_image"]
    usage: Usage = Usage()
    route: Route = "standard"


class SlotError(_Model):
    kind: ErrorKind
    message: str
    retry_after: float | None = None


class SlotResult(_Model):
    output_id: str
    status: Literal["succeeded", "failed"]
    image: ImageRef | None = None
    storage_key: str | None = None  # set when the worker uploaded it to its UploadTarget
    mime_type: str | None = None  # of an uploaded image (an inline one carries its own)
    width: int | None = None
    height: int | None = None
    usage: Usage = Usage()
    error: SlotError | None = None
    attempts: int = 1
    duration_ms: int = 0
    calls: list[PaidCall] = Field(default_factory=list)
    labels: SourceLabels | None = None  # the source's labels in this output's frame
    transform: OutputTransform | None = None
    checks: OutputChecks | None = None


class TaskResult(_Model):
    version: int = CONTRACT_VERSION
    task_id: str
    slots: list[SlotResult]
    worker: str = ""
    duration_ms: int = 0
