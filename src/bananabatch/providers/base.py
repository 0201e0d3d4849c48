"""The provider port: one prompt (+ reference images) in, one image out.

Every failure is raised as a `ProviderError` subclass carrying its `ErrorKind`,
so the worker and the orchestrator decide retries without knowing the provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from bananabatch.contracts import (
    ErrorKind,
    GenerationOptions,
    OutputChecks,
    OutputTransform,
    SourceLabels,
    Usage,
)


@dataclass(frozen=True)
class ReferenceImage:
    data: bytes
    mime_type: str
    name: str | None = None


@dataclass(frozen=True)
class GenerationRequest:
    model: str
    prompt: str
    seed: int
    references: list[ReferenceImage] = field(default_factory=list)
    options: GenerationOptions = field(default_factory=GenerationOptions)
    labels: SourceLabels | None = None  # the first reference's labels (labelled datasets)


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    mime_type: str
    width: int
    height: int
    usage: Usage = field(default_factory=Usage)
    text: str | None = None  # any text the model returned beside the image
    # Set by a provider that moves the layout on purpose (classic geometric steps):
    # the request's labels in this image's frame, what was done, and the source as
    # it appears in this frame (for the layout check).
    labels: SourceLabels | None = None
    transform: OutputTransform | None = None
    reference_view: Image.Image | None = None
    checks: OutputChecks | None = None  # measured by the worker after generation


class ProviderError(Exception):
    kind: ErrorKind = ErrorKind.internal

    def __init__(
        self, message: str, *, retry_after: float | None = None, usage: Usage | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        # set when the provider answered (and billed) without an image: a block or text
        self.usage = usage


class BlockedError(ProviderError):
    """Safety or policy block. Permanent: never retried; the reason is shown."""

    kind = ErrorKind.blocked


class NoImageError(ProviderError):
    """The model answered with text only. Retried at most once."""

    kind = ErrorKind.no_image


class RateLimitedError(ProviderError):
    """HTTP 429; `retry_after` comes from RetryInfo.retryDelay when present."""

    kind = ErrorKind.rate_limited


class TransientError(ProviderError):
    """5xx, timeouts, connection errors."""

    kind = ErrorKind.transient


class InvalidRequestError(ProviderError):
    """Any other 4xx: permanent, the message is shown to the user."""

    kind = ErrorKind.invalid


class ImageProvider(Protocol):
    name: str

    async def generate(self, request: GenerationRequest) -> GeneratedImage: ...

    async def aclose(self) -> None: ...
