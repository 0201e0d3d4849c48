"""Cost estimates and option checks against the catalog."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bananabatch.catalog import ModelInfo, load_catalog
from bananabatch.domain.plan import (
    AutomaticSpec,
    SemiAutoPrompt,
    SemiAutoSpec,
    SourceImage,
)
from bananabatch.domain.plan_automatic import (
    plan_automatic,
)
from bananabatch.domain.plan_semi_auto import (
    plan_semi_auto,
)
from bananabatch.domain.pricing import (
    batch_cost,
    batch_output_cost,
    check_options,
    estimate_plan,
    output_cost,
    reference_images_cost,
)
from bananabatch.errors import ValidationFailed


def _model(model_id: str) -> ModelInfo:
    info, _ = load_catalog().resolve(model_id)
    return info


# ---- estimates ----


@pytest.mark.parametrize(
    ("model_id", "size", "count", "price", "cost", "batch_cost"),
    [
        ("gemini-2.5-flash-image", None, 40, 0.039, 1.56, 0.78),
        ("gemini-3-pro-image-preview", None, 40, 0.134, 5.36, 2.68),
        ("gemini-3-pro-image", "2K", 10, 0.134, 1.34, 0.67),
        ("gemini-3-pro-image", "4K", 10, 0.24, 2.4, 1.2),
        ("gemini-3.1-flash-image", "512", 100, 0.045, 4.5, 2.25),
        ("gemini-3.1-flash-image-preview", "4K", 3, 0.151, 0.453, 0.2265),
        ("classic", None, 1000, 0.0, 0.0, 0.0),
    ],
)
def test_estimate_semi_auto(
    model_id: str, size: str | None, count: int, price: float, cost: float, batch_cost: float
) -> None:
    spec = SemiAutoSpec(prompts=[SemiAutoPrompt("a cat", count)], reference_count=0, seed=1)
    model = _model(model_id)
    est = estimate_plan(plan_semi_auto(spec, model), model, size)
    assert est.outputs == count
    assert est.tasks == -(-count // 4)
    assert est.batches == 1
    assert est.price_per_image == pytest.approx(price)
    # the images, plus a few input tokens for the prompt ("a cat")
    assert est.cost_usd == pytest.approx(cost, rel=1e-4)
    assert est.cost_usd > cost or price == 0
    # the Batch API prices the same tokens at its own (half) rates
    assert est.batch_cost_usd == pytest.approx(batch_cost, rel=1e-4)
    assert est.batch_cost_usd >= batch_cost
    assert est.model == model_id
    assert est.model_known is True
    assert est.warnings == ()


def test_estimate_reports_the_effective_size() -> None:
    model = _model("gemini-3.1-flash-image")
    spec = SemiAutoSpec(prompts=[SemiAutoPrompt("a cat", 1)], reference_count=0, seed=1)
    plan = plan_semi_auto(spec, model)
    assert estimate_plan(plan, model, None).image_size == "1K"
    assert estimate_plan(plan, model, "2K").image_size == "2K"
    nano = _model("gemini-2.5-flash-image")
    assert estimate_plan(plan, nano, None).image_size is None


def test_estimate_automatic_counts_everything() -> None:
    sources = [SourceImage(f"{c}/{i}.jpg", f"{c}{i}") for c in ("cat", "dog") for i in range(150)]
    plan = plan_automatic(AutomaticSpec(prompt="x", variations=10, seed=3), sources)
    model = _model("gemini-2.5-flash-image")
    est = estimate_plan(plan, model, None)
    assert (est.outputs, est.tasks, est.batches) == (3000, 900, 2)
    assert est.cost_usd == pytest.approx(117.0, rel=1e-4)
    assert est.cost_usd == round(est.cost_usd, 6)  # no float noise like 117.00000000001


def test_estimate_merges_caller_and_plan_warnings_without_duplicates() -> None:
    plan = plan_automatic(
        AutomaticSpec(prompt="x", variations=1, seed=1, per_class_prompts={"ghost": "y"}),
        [SourceImage("a.jpg", "a")],
    )
    model, warning = load_catalog().resolve("gemini-5-image")
    assert warning is not None
    est = estimate_plan(plan, model, None, [warning, warning])
    assert est.warnings[0] == warning
    assert len(est.warnings) == 2
    assert "ghost" in est.warnings[1]
    assert est.model_known is False
    assert est.price_per_image == pytest.approx(0.039)


def test_estimate_with_a_size_the_model_lacks_is_an_error() -> None:
    model = _model("gemini-3-pro-image")
    spec = SemiAutoSpec(prompts=[SemiAutoPrompt("a cat", 1)], reference_count=0, seed=1)
    with pytest.raises(ValidationFailed, match="1K, 2K, 4K"):
        estimate_plan(plan_semi_auto(spec, model), model, "512")


@pytest.mark.parametrize(
    ("model_id", "size", "cost"),
    [
        ("gemini-2.5-flash-image", None, 0.039),
        ("gemini-3-pro-image", None, 0.134),
        ("gemini-3-pro-image", "4K", 0.24),
        ("gemini-3.1-flash-image", "2K", 0.101),
        ("classic", "4K", 0.0),
        ("gemini-unlisted-image", None, 0.039),
    ],
)
def test_output_cost(model_id: str, size: str | None, cost: float) -> None:
    assert output_cost(_model(model_id), size) == pytest.approx(cost)


# ---- option checks ----


@pytest.mark.parametrize(
    ("model_id", "aspect_ratio", "size"),
    [
        ("gemini-2.5-flash-image", None, None),
        ("gemini-2.5-flash-image", "16:9", None),
        ("gemini-2.5-flash-image", "21:9", None),
        ("gemini-3-pro-image", "4:5", "4K"),
        ("gemini-3-pro-image-preview", None, "2K"),
        ("gemini-3.1-flash-image", "8:1", "512"),
        ("gemini-3.1-flash-image-preview", "1:4", "1K"),
        ("classic", "9:16", None),
        ("classic", "1:8", "4K"),  # classic ignores the size
        ("classic", None, "whatever"),
        ("gemini-new-image", "3:2", None),
    ],
)
def test_valid_options(model_id: str, aspect_ratio: str | None, size: str | None) -> None:
    check_options(_model(model_id), aspect_ratio, size)


@pytest.mark.parametrize(
    ("model_id", "aspect_ratio", "size", "fragments"),
    [
        ("gemini-2.5-flash-image", "8:1", None, ["aspect ratio '8:1'", "1:1, 2:3, 3:2"]),
        ("gemini-3-pro-image", "1:4", None, ["'1:4'", "21:9"]),
        ("gemini-3-pro-image", "16x9", None, ["did you mean '16:9'"]),
        ("gemini-3-pro-image", " 16 : 9 ", None, ["did you mean '16:9'"]),
        ("gemini-3-pro-image", "7:3", None, ["choose one of"]),
        ("classic", "7:3", None, ["classic does not support aspect ratio '7:3'"]),
        ("gemini-2.5-flash-image", None, "2K", ["no image size option", "gemini-3-pro-image"]),
        ("gemini-new-image", None, "1K", ["gemini-new-image has no image size option"]),
        ("gemini-3-pro-image", None, "512", ["image size '512'", "1K, 2K, 4K"]),
        ("gemini-3.1-flash-image", None, "2k", ["upper-case K", "'2K'"]),
        ("gemini-3.1-flash-image", None, "8K", ["512, 1K, 2K, 4K"]),
    ],
)
def test_invalid_options_list_the_allowed_values(
    model_id: str, aspect_ratio: str | None, size: str | None, fragments: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        check_options(_model(model_id), aspect_ratio, size)
    for fragment in fragments:
        assert fragment in str(excinfo.value)


def test_model_without_image_config_rejects_an_aspect_ratio() -> None:
    model = replace(_model("gemini-2.5-flash-image"), supports_image_config=False)
    with pytest.raises(ValidationFailed, match=re.escape("does not take an aspect ratio")):
        check_options(model, "1:1", None)
    check_options(model, None, None)


# ---- Batch API and input-image prices ----


@pytest.mark.parametrize(
    ("model_id", "size", "outputs", "per_image", "total"),
    [
        ("gemini-nano-banana-2.1", None, 100, 0.0168, 1.68),
        ("gemini-nano-banana-2.1", "4K", 10, 0.0567, 0.567),
        ("gemini-3-pro-image", "2K", 3, 0.067, 0.201),
        ("gemini-3-pro-image", "4K", 1000, 0.12, 120.0),
        ("gemini-2.5-flash-image", None, 7, 0.0195, 0.1365),
        ("classic", None, 50, 0.0, 0.0),
    ],
)
def test_batch_price_helpers(
    model_id: str, size: str | None, outputs: int, per_image: float, total: float
) -> None:
    model = _model(model_id)
    assert batch_output_cost(model, size) == pytest.approx(per_image)
    assert output_cost(model, size, batch=True) == pytest.approx(per_image)
    assert batch_output_cost(model, size) == pytest.approx(output_cost(model, size) / 2)
    assert batch_cost(model, size, outputs) == pytest.approx(total)


def test_batch_cost_refuses_a_negative_count_and_rounds_float_noise() -> None:
    model = _model("gemini-nano-banana-2.1")
    with pytest.raises(ValueError):
        batch_cost(model, None, -1)
    assert batch_cost(model, None, 3) == 0.0504  # not 0.050399999...


def test_the_estimate_carries_the_batch_price_too() -> None:
    spec = SemiAutoSpec(prompts=[SemiAutoPrompt("a cat", 10)], reference_count=0, seed=1)
    model = _model("gemini-3-pro-image")
    est = estimate_plan(plan_semi_auto(spec, model), model, "4K")
    assert (est.price_per_image, est.batch_price_per_image) == (0.24, 0.12)
    assert est.cost_usd == pytest.approx(2.4, rel=1e-4)
    assert est.batch_cost_usd == pytest.approx(1.2, rel=1e-4)
    on_batch = estimate_plan(plan_semi_auto(spec, model), model, "4K", route="batch")
    assert on_batch.price_per_image == 0.12
    assert on_batch.cost_usd == est.batch_cost_usd  # a batch job is priced at the batch rate


def test_the_estimate_counts_input_tokens_like_the_ledger() -> None:
    """14 references on Pro: 14 x 560 tokens at $2/1M on every call."""
    model = _model("gemini-3-pro-image")
    spec = SemiAutoSpec(prompts=[SemiAutoPrompt("x" * 400, 4)], reference_count=14, seed=1)
    est = estimate_plan(plan_semi_auto(spec, model), model, "1K", references=14)
    per_call_input = (100 + 14 * 560) * 2.0 / 1e6
    assert est.cost_usd == pytest.approx(4 * (0.134 + per_call_input))


def test_reference_images_cost_uses_tokens_per_image_and_the_input_rate() -> None:
    pro = _model("gemini-3-pro-image")  # 560 tokens per input image, $2.00 / 1M input
    assert reference_images_cost(pro, 1) == pytest.approx(0.00112)
    assert reference_images_cost(pro, 14) == pytest.approx(0.01568)
    assert reference_images_cost(pro, 14, batch=True) == pytest.approx(0.00784)
    assert reference_images_cost(pro, 0) == 0.0
    # unknown tokens per image: not guessed
    assert reference_images_cost(_model("gemini-nano-banana-2.1"), 3) is None
    assert reference_images_cost(_model("classic"), 2) is None
    with pytest.raises(ValueError):
        reference_images_cost(pro, -1)
