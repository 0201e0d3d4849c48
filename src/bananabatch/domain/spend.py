"""What a billed call costs, and the worst case a dispatch may cost: pure rules.

A call is priced from its tokens when the response reported them and the catalog
knows the model's token prices (output tokens of an image answer at the image-output
rate, of a text answer at the text rate); otherwise an image is priced per image
and a block or text-only answer without tokens at nothing (it cannot be known).
The same rule, applied to the expected tokens, gives the estimate, so a job that
runs without faults costs what it was estimated at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bananabatch.catalog import ModelInfo, TokenPrices
from bananabatch.contracts import PaidCall, Route

# Gemini bills a small input image at 258 tokens (larger ones per 768 px tile); the
# catalog's own figure wins when it has one (docs/providers.md cites both).
DEFAULT_INPUT_IMAGE_TOKENS = 258
PricedBy = Literal["tokens", "image", "none"]


@dataclass(frozen=True)
class CallCost:
    usd: float
    priced_by: PricedBy


def _rates(model: ModelInfo, route: Route) -> TokenPrices | None:
    return model.batch_token_prices if route == "batch" else model.token_prices


def call_cost(model: ModelInfo, image_size: str | None, call: PaidCall) -> CallCost:
    rates = _rates(model, call.route)
    usage = call.usage
    if rates is not None and (usage.input_tokens or usage.output_tokens):
        out_rate = rates.output_image if call.outcome == "image" else rates.output
        usd = (usage.input_tokens * rates.input + usage.output_tokens * out_rate) / 1e6
        return CallCost(round(usd, 8), "tokens")
    if call.outcome == "image":
        return CallCost(model.price_for(image_size, batch=call.route == "batch"), "image")
    return CallCost(0.0, "none")


def input_tokens_estimate(model: ModelInfo, prompt: str, references: int) -> int:
    """About 4 characters per text token, plus the catalog's tokens per input image."""
    per_image = model.input_image_tokens or DEFAULT_INPUT_IMAGE_TOKENS
    return max(1, len(prompt) // 4) + references * per_image


def output_estimate(
    model: ModelInfo, image_size: str | None, prompt: str, references: int, route: Route
) -> float:
    """What one successful output is expected to cost: the image plus its input."""
    rates = _rates(model, route)
    image = model.price_for(image_size, batch=route == "batch")
    if rates is None:
        return image
    return image + input_tokens_estimate(model, prompt, references) * rates.input / 1e6
