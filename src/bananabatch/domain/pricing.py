"""Cost and size estimates from the catalog, and option checks against a model.

An estimate is shown before a job starts (outputs, tasks, price) so a user
never launches a 10,000-image job blind; `check_options` turns an option the
model cannot take into a clear error before anything is spent. Every price has a
Batch API twin (`batch=True`, half the standard price at Google) so the Batch
route and a budget can price the same plan without new code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bananabatch.catalog import ModelInfo, load_catalog
from bananabatch.contracts import Route
from bananabatch.domain.plan import (
    Plan,
)
from bananabatch.domain.spend import output_estimate
from bananabatch.errors import ValidationFailed


@dataclass(frozen=True)
class Estimate:
    outputs: int
    tasks: int
    batches: int
    price_per_image: float  # USD, standard (interactive) price
    cost_usd: float  # outputs x price_per_image
    model: str
    model_known: bool
    warnings: tuple[str, ...]
    image_size: str | None = None  # the size really used (model default when none was given)
    batch_cost_usd: float = 0.0  # the same outputs through the Gemini Batch API
    batch_price_per_image: float = 0.0


def _usd(value: float) -> float:
    """Round away float noise (0.1 + 0.2) without hiding fractions of a cent."""
    return round(value, 6)


def output_cost(model: ModelInfo, image_size: str | None, *, batch: bool = False) -> float:
    """USD for one successful output of `model` at `image_size` (None = default size)."""
    return model.price_for(image_size, batch=batch)


def batch_output_cost(model: ModelInfo, image_size: str | None) -> float:
    """USD for one output made through the Gemini Batch API (the Batch route prices with it)."""
    return output_cost(model, image_size, batch=True)


def batch_cost(model: ModelInfo, image_size: str | None, outputs: int) -> float:
    """USD for `outputs` images through the Batch API, rounded like every estimate."""
    if outputs < 0:
        raise ValueError("outputs must be >= 0")
    return _usd(outputs * batch_output_cost(model, image_size))


def reference_images_cost(model: ModelInfo, count: int, *, batch: bool = False) -> float | None:
    """USD the `count` reference images of one call add as input tokens, or None when
    the catalog does not know the model's tokens per input image (not estimated then)."""
    prices = model.batch_token_prices if batch else model.token_prices
    if count < 0:
        raise ValueError("count must be >= 0")
    if count == 0:
        return 0.0
    if prices is None or model.input_image_tokens is None:
        return None
    return _usd(count * model.input_image_tokens * prices.input / 1_000_000)


def estimate_plan(
    plan: Plan,
    model: ModelInfo,
    image_size: str | None,
    warnings: Sequence[str] = (),
    *,
    references: int = 0,
    route: Route = "standard",
) -> Estimate:
    """Outputs, tasks and cost of `plan` on `model`; warnings are the caller's plus the plan's.

    The cost is the images plus their input tokens (prompt and `references` images per
    call), priced like the spend ledger prices the calls, so the two agree. `cost_usd` is
    on the job's `route`; `batch_cost_usd` always on the Batch API's, for the form."""
    price = model.price_for(image_size, batch=route == "batch")
    outputs = plan.total_outputs
    merged = tuple(dict.fromkeys([*warnings, *plan.warnings]))
    cost = batch = 0.0
    for out in plan.outputs():
        cost += output_estimate(model, image_size, out.prompt, references, route)
        batch += output_estimate(model, image_size, out.prompt, references, "batch")
    return Estimate(
        outputs=outputs,
        tasks=plan.total_tasks,
        batches=len(plan.batches),
        price_per_image=price,
        cost_usd=_usd(cost),
        model=model.id,
        model_known=model.known,
        warnings=merged,
        image_size=model.effective_image_size(image_size),
        batch_cost_usd=_usd(batch),
        batch_price_per_image=batch_output_cost(model, image_size),
    )


def check_options(model: ModelInfo, aspect_ratio: str | None, image_size: str | None) -> None:
    """Raise ValidationFailed (listing the allowed values) for options `model` cannot take.

    None means "the model's default" and is always fine. The classic provider
    accepts any aspect ratio from its list and ignores the image size.
    """
    if aspect_ratio is not None:
        if not model.supports_image_config:
            raise ValidationFailed(
                f"{model.id} does not take an aspect ratio; leave it empty "
                "(the output follows the model's default)."
            )
        if aspect_ratio not in model.aspect_ratios:
            hint = ""
            guess = aspect_ratio.strip().replace(" ", "").lower().replace("x", ":")
            guess = guess.replace("/", ":")
            if guess != aspect_ratio and guess in model.aspect_ratios:
                hint = f" (did you mean {guess!r}?)"
            raise ValidationFailed(
                f"{model.id} does not support aspect ratio {aspect_ratio!r}{hint}; "
                f"choose one of {', '.join(model.aspect_ratios)}."
            )
    if image_size is None or model.provider == "classic":
        return
    if not model.image_sizes:
        with_sizes = [
            f"{m.id}: {'/'.join(m.image_sizes)}"
            for m in load_catalog().models()
            if m.image_sizes and m.status == "current"
        ]
        raise ValidationFailed(
            f"{model.id} has no image size option; leave the size empty or pick a model "
            f"with sizes ({', '.join(with_sizes)})."
        )
    if image_size not in model.image_sizes:
        hint = ""
        if image_size.upper() in model.image_sizes:
            hint = f" (sizes use an upper-case K: {image_size.upper()!r})"
        raise ValidationFailed(
            f"{model.id} does not support image size {image_size!r}{hint}; "
            f"choose one of {', '.join(model.image_sizes)}."
        )
