"""The model catalog as `GET /models` shows it: lifecycle, limits, prices, sources."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from bananabatch.catalog import Lifecycle, ModelInfo, TokenPrices


class TokenPricesOut(BaseModel):
    input: float = Field(description="USD per 1M input tokens (text and images).")
    output: float = Field(description="USD per 1M text and thinking output tokens.")
    output_image: float = Field(description="USD per 1M image output tokens.")

    @classmethod
    def from_prices(cls, prices: TokenPrices | None) -> TokenPricesOut | None:
        if prices is None:
            return None
        return cls(input=prices.input, output=prices.output, output_image=prices.output_image)


class ModelSourcesOut(BaseModel):
    """The URL each group of catalog facts was checked against."""

    lifecycle: str
    limits: str
    prices: str
    batch_prices: str


class ModelOut(BaseModel):
    id: str
    display_name: str
    provider: Literal["gemini", "classic"]
    status: Lifecycle = Field(
        description="current; deprecated (accepted with a warning); shut_down (refused)."
    )
    released: date | None
    deprecated: date | None
    shutdown: date | None = Field(description="Past for a shut-down model, else announced.")
    replacement: str | None = Field(description="What to use instead, when not current.")
    lifecycle_note: str
    max_reference_images: int
    used_reference_images: int = Field(
        description="References a call really uses (classic: only the first); at most "
        "max_reference_images, which is how many a job may give."
    )
    aspect_ratios: list[str]
    image_sizes: list[str]
    default_image_size: str | None
    price_per_image: dict[str, float] = Field(
        description='USD per image by size ("default" when the model has no sizes).'
    )
    batch_price_per_image: dict[str, float] = Field(description="The same through the Batch API.")
    price_per_million_tokens: TokenPricesOut | None
    batch_price_per_million_tokens: TokenPricesOut | None
    input_image_tokens: int | None = Field(
        description="Tokens billed per reference image, when known."
    )
    sources: ModelSourcesOut | None
    description: str
    preview: bool
    known: bool
    default: bool = Field(description="The model used when a job names none.")
    available: bool = Field(
        description="False for shut-down models, and for Gemini models while no key is set."
    )

    @classmethod
    def from_info(
        cls,
        info: ModelInfo,
        *,
        default: bool,
        available: bool,
        status: Lifecycle,
        replacement: str | None,
    ) -> ModelOut:
        """`status` and `replacement` as of today (a shutdown date may have passed)."""
        return cls(
            id=info.id,
            display_name=info.display_name,
            provider=info.provider,
            status=status,
            released=info.released_on,
            deprecated=info.deprecated_on,
            shutdown=info.shutdown_on,
            replacement=replacement,
            lifecycle_note=info.lifecycle_note,
            max_reference_images=info.max_reference_images,
            used_reference_images=info.references_used,
            aspect_ratios=list(info.aspect_ratios),
            image_sizes=list(info.image_sizes),
            default_image_size=info.default_image_size,
            price_per_image=dict(info.price_per_image),
            batch_price_per_image=dict(info.batch_price_per_image),
            price_per_million_tokens=TokenPricesOut.from_prices(info.token_prices),
            batch_price_per_million_tokens=TokenPricesOut.from_prices(info.batch_token_prices),
            input_image_tokens=info.input_image_tokens,
            sources=ModelSourcesOut.model_validate(info.sources) if info.sources else None,
            description=info.description,
            preview=info.preview,
            known=info.known,
            default=default,
            available=available and status != "shut_down",
        )
