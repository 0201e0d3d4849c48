"""The model catalog: the data file's content, price lookups and id resolution
(lifecycle rules for new jobs: tests/unit/test_lifecycle.py)."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from bananabatch.catalog import ModelInfo, load_catalog, normalize_model_id, parse_catalog
from bananabatch.errors import UnknownModel, ValidationFailed

STANDARD_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
KNOWN_IDS = [
    "gemini-nano-banana-2.1",
    "gemini-3-pro-image",
    "gemini-3.1-flash-lite-image",
    "gemini-2.5-flash-image",
    "gemini-3.1-flash-image",
    "gemini-3.1-flash-image-preview",
    "gemini-3-pro-image-preview",
    "classic",
]


def _raw_catalog() -> dict[str, Any]:
    text = resources.files("bananabatch").joinpath("catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _model(model_id: str) -> ModelInfo:
    info = load_catalog().get(model_id)
    assert info is not None
    return info


def test_catalog_lists_the_known_models_in_file_order() -> None:
    assert [m.id for m in load_catalog().models()] == KNOWN_IDS


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_models_returns_a_copy() -> None:
    catalog = load_catalog()
    catalog.models().clear()
    assert len(catalog.models()) == len(KNOWN_IDS)


@pytest.mark.parametrize(
    ("model_id", "provider", "max_refs", "sizes", "default_size"),
    [
        ("gemini-nano-banana-2.1", "gemini", 14, ("1K", "2K", "4K"), "1K"),
        ("gemini-3.1-flash-lite-image", "gemini", 14, (), None),
        ("gemini-2.5-flash-image", "gemini", 3, (), None),
        ("gemini-3-pro-image-preview", "gemini", 14, ("1K", "2K", "4K"), "1K"),
        ("gemini-3-pro-image", "gemini", 14, ("1K", "2K", "4K"), "1K"),
        ("gemini-3.1-flash-image-preview", "gemini", 14, ("512", "1K", "2K", "4K"), "1K"),
        ("gemini-3.1-flash-image", "gemini", 14, ("512", "1K", "2K", "4K"), "1K"),
        ("classic", "classic", 14, (), None),
    ],
)
def test_model_limits(
    model_id: str, provider: str, max_refs: int, sizes: tuple[str, ...], default_size: str | None
) -> None:
    info = _model(model_id)
    assert info.provider == provider
    assert info.max_reference_images == max_refs
    assert info.image_sizes == sizes
    assert info.default_image_size == default_size
    assert info.known is True
    assert set(STANDARD_RATIOS) <= set(info.aspect_ratios)
    assert info.preview == model_id.endswith("-preview")


def test_nano_banana_2_has_the_extreme_aspect_ratios_and_others_do_not() -> None:
    extreme = {"1:4", "4:1", "1:8", "8:1"}
    assert extreme <= set(_model("gemini-3.1-flash-image").aspect_ratios)
    assert extreme <= set(_model("gemini-nano-banana-2.1").aspect_ratios)
    assert len(_model("gemini-nano-banana-2.1").aspect_ratios) == 14
    assert not extreme & set(_model("gemini-2.5-flash-image").aspect_ratios)
    assert not extreme & set(_model("gemini-3-pro-image").aspect_ratios)


@pytest.mark.parametrize(
    ("model_id", "size", "price", "batch_price"),
    [
        ("gemini-nano-banana-2.1", None, 0.0336, 0.0168),  # default 1K
        ("gemini-nano-banana-2.1", "2K", 0.0504, 0.0252),
        ("gemini-nano-banana-2.1", "4K", 0.1134, 0.0567),
        ("gemini-3.1-flash-lite-image", None, 0.0336, 0.0168),
        ("gemini-2.5-flash-image", None, 0.039, 0.0195),
        ("gemini-2.5-flash-image", "4K", 0.039, 0.0195),  # no sizes: the size is ignored
        ("gemini-3-pro-image-preview", None, 0.134, 0.067),  # default 1K
        ("gemini-3-pro-image-preview", "1K", 0.134, 0.067),
        ("gemini-3-pro-image-preview", "2K", 0.134, 0.067),
        ("gemini-3-pro-image", "4K", 0.24, 0.12),
        ("gemini-3.1-flash-image-preview", "512", 0.045, 0.0225),
        ("gemini-3.1-flash-image", None, 0.067, 0.0335),
        ("gemini-3.1-flash-image", "2K", 0.101, 0.0505),
        ("gemini-3.1-flash-image", "4K", 0.151, 0.0755),
        ("classic", None, 0.0, 0.0),
        ("classic", "2K", 0.0, 0.0),
    ],
)
def test_price_for(model_id: str, size: str | None, price: float, batch_price: float) -> None:
    info = _model(model_id)
    assert info.price_for(size) == pytest.approx(price)
    assert info.price_for(size, batch=True) == pytest.approx(batch_price)


def test_batch_prices_are_half_the_standard_price() -> None:
    for info in load_catalog().models():
        for key, price in info.price_per_image.items():
            assert info.batch_price_per_image[key] == pytest.approx(price / 2), (info.id, key)


def test_price_for_an_unsupported_size_names_the_valid_sizes() -> None:
    with pytest.raises(ValidationFailed, match=r"512, 1K, 2K, 4K"):
        _model("gemini-3.1-flash-image").price_for("8K")
    with pytest.raises(ValidationFailed, match=r"1K, 2K, 4K"):
        _model("gemini-3-pro-image").price_for("512")
    with pytest.raises(ValidationFailed, match=r"no image size '512'"):
        _model("gemini-nano-banana-2.1").price_for("512")  # 2.1 dropped the 512 tier


def test_token_prices_and_batch_token_prices() -> None:
    pro = _model("gemini-3-pro-image")
    assert pro.token_prices is not None and pro.batch_token_prices is not None
    assert (pro.token_prices.input, pro.token_prices.output_image) == (2.0, 120.0)
    assert pro.batch_token_prices.output_image == pytest.approx(60.0)
    assert pro.input_image_tokens == 560
    for info in load_catalog().models():
        if info.provider == "gemini":
            assert info.token_prices is not None and info.batch_token_prices is not None
            for key in ("input", "output", "output_image"):
                half = getattr(info.token_prices, key) / 2
                assert getattr(info.batch_token_prices, key) == pytest.approx(half), info.id


def test_every_gemini_model_cites_a_source_for_each_fact() -> None:
    for info in load_catalog().models():
        if info.provider != "gemini":
            assert info.sources is None
            continue
        assert info.sources is not None, info.id
        assert set(info.sources) == {"lifecycle", "limits", "prices", "batch_prices"}
        assert all(url.startswith("https://") for url in info.sources.values()), info.id


def test_model_info_is_hashable_despite_price_dicts() -> None:
    info = _model("gemini-3-pro-image")
    assert {info: 1}[info] == 1


@pytest.mark.parametrize("model_id", KNOWN_IDS)
def test_resolve_known_ids_without_warning(model_id: str) -> None:
    info, warning = load_catalog().resolve(model_id)
    assert info.id == model_id
    assert warning is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  gemini-2.5-flash-image ", "gemini-2.5-flash-image"),
        ("models/gemini-3-pro-image", "gemini-3-pro-image"),
        ("Gemini-3.1-Flash-Image", "gemini-3.1-flash-image"),
        ("CLASSIC", "classic"),
    ],
)
def test_ids_are_normalized(given: str, expected: str) -> None:
    assert normalize_model_id(given) == expected
    info, warning = load_catalog().resolve(given)
    assert (info.id, warning) == (expected, None)
    assert load_catalog().get(given) == info


def test_get_returns_none_for_unknown_ids() -> None:
    assert load_catalog().get("gemini-9-ultra-image") is None


def test_unknown_gemini_id_is_accepted_with_conservative_limits_and_a_warning() -> None:
    info, warning = load_catalog().resolve("gemini-4-flash-image-preview")
    base = _model("gemini-2.5-flash-image")
    assert info.id == "gemini-4-flash-image-preview"
    assert info.known is False
    # the limits are the legacy model's, its lifecycle is not: no deprecation warning
    assert (info.status, info.replacement, info.shutdown_on, info.sources) == (
        "current",
        None,
        None,
        None,
    )
    assert info.provider == "gemini"
    assert info.max_reference_images == 3
    assert info.aspect_ratios == base.aspect_ratios
    assert info.image_sizes == ()
    assert info.default_image_size is None
    assert info.price_for(None) == pytest.approx(0.039)
    assert info.price_for("4K") == pytest.approx(0.039)
    assert info.price_for(None, batch=True) == pytest.approx(0.0195)
    assert warning is not None
    assert "gemini-4-flash-image-preview" in warning
    assert "not in the catalog" in warning
    assert "gemini-2.5-flash-image" in warning


@pytest.mark.parametrize(
    "model_id",
    [
        "dall-e-3",
        "",
        "   ",
        "imagen-4",
        "flux",
    ],
)
def test_other_unknown_ids_raise_listing_the_known_ids(model_id: str) -> None:
    with pytest.raises(UnknownModel) as excinfo:
        load_catalog().resolve(model_id)
    message = str(excinfo.value)
    for known in KNOWN_IDS:
        assert known in message
    assert excinfo.value.details["known"] == KNOWN_IDS


def test_accepting_references() -> None:
    ids = [m.id for m in load_catalog().accepting_references(5)]
    assert "gemini-2.5-flash-image" not in ids
    assert "gemini-3-pro-image" in ids
    assert [m.id for m in load_catalog().accepting_references(15)] == []


def test_classic_is_described_as_offline_and_not_ai() -> None:
    info = _model("classic")
    assert "offline" in info.display_name.lower()
    assert "not ai" in info.display_name.lower()
    assert "first reference" in info.description


# ---- the loader rejects a broken data file instead of misbehaving later ----


def _broken(mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(_raw_catalog())
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("models"), "models"),
        (lambda d: d["models"][0].pop("id"), "no id"),
        (lambda d: d["models"][0].update(provider="openai"), "provider"),
        (lambda d: d["models"][1]["price_per_image"].pop("4K"), "keys must be"),
        (lambda d: d["models"][1]["batch_price_per_image"].update({"8K": 1.0}), "keys must be"),
        (lambda d: d["models"][1].update(default_image_size="8K"), "default_image_size"),
        (lambda d: d["models"][3].update(default_image_size="1K"), "default_image_size"),
        (lambda d: d["models"][0].update(max_reference_images=-1), "max_reference_images"),
        (lambda d: d["models"][0].update(aspect_ratios=[]), "aspect_ratios"),
        (lambda d: d["models"][3]["price_per_image"].update(default=-1), "price"),
        (lambda d: d["models"].append(copy.deepcopy(d["models"][0])), "duplicate"),
        (lambda d: d.update(unknown_gemini_fallback="nope"), "fallback"),
        (lambda d: d["models"][0].update(status="retired"), "status must be"),
        (lambda d: d["models"][4].update(shutdown=None), "needs its shutdown date"),
        (lambda d: d["models"][3].update(replacement=None), "must name its replacement"),
        (lambda d: d["models"][3].update(replacement="gemini-99"), "is not in the catalog"),
        (lambda d: d["models"][0].update(released="6 Oct 2026"), "YYYY-MM-DD"),
        (lambda d: d["models"][0].update(sources=None), "must cite its sources"),
        (lambda d: d["models"][0]["sources"].update(prices="http://x"), "https URL"),
        (lambda d: d["models"][0]["price_per_million_tokens"].pop("input"), "keys"),
        (lambda d: d["models"][0].update(input_image_tokens=0), "input_image_tokens"),
        (lambda d: d.update(default_gemini_model="gemini-3.1-flash-image"), "must be a current"),
        (lambda d: d.update(default_gemini_model="classic"), "must be a current Gemini"),
    ],
)
def test_parse_catalog_rejects_malformed_data(mutate: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_catalog(_broken(mutate))


def test_parse_catalog_round_trips_the_packaged_file() -> None:
    catalog = parse_catalog(_raw_catalog())
    assert catalog.ids() == KNOWN_IDS
    assert catalog.default_gemini_model == "gemini-nano-banana-2.1"


def test_without_a_named_default_the_first_current_gemini_model_is_the_default() -> None:
    data = _raw_catalog()
    data.pop("default_gemini_model")
    assert parse_catalog(data).default_gemini_model == "gemini-nano-banana-2.1"


@pytest.mark.parametrize(
    "model_id",
    # "gemini..." but not an id: it would become part of the Gemini URL's path, or
    # overflow the 128-character model column
    ["gemini-x/../../files", "gemini-x?alt=sse", "gemini x", "gemini-" + "a" * 200],
)
def test_new_jobs_refuse_unknown_ids_that_are_not_model_ids(model_id: str) -> None:
    with pytest.raises(UnknownModel) as excinfo:
        load_catalog().check_new_id(model_id)
    assert "is not a model id" in excinfo.value.message


@pytest.mark.parametrize(
    "model_id", ["gemini-4-flash-image-preview", "models/gemini-x_1.5", "classic", "flux"]
)
def test_check_new_id_leaves_plausible_and_non_gemini_ids_to_resolve(model_id: str) -> None:
    load_catalog().check_new_id(model_id)
