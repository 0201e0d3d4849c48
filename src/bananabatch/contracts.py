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


class TaskResult(_Model):
    version: int = CONTRACT_VERSION
    task_id: str
    slots: list[SlotResult]
    worker: str = ""
    duration_ms: int = 0
