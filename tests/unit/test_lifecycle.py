"""Lifecycle rules for new jobs: current models pass, deprecated ones warn, shut-down
ones are refused naming what to use instead; the day decides, not the wall clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bananabatch.catalog import Catalog, ModelInfo, load_catalog
from bananabatch.config import Settings
from bananabatch.domain.lifecycle import lifecycle_warning
from bananabatch.errors import ModelShutDown, ValidationFailed

TODAY = date(2026, 12, 2)


def _model(model_id: str) -> ModelInfo:
    info = load_catalog().get(model_id)
    assert info is not None
    return info


@pytest.mark.parametrize(
    "model_id",
    ["gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-lite-image", "classic"],
)
def test_current_models_pass_without_a_warning(model_id: str) -> None:
    assert lifecycle_warning(_model(model_id), load_catalog(), TODAY) is None


def test_a_deprecated_model_is_accepted_with_a_warning_naming_the_replacement() -> None:
    warning = lifecycle_warning(_model("gemini-2.5-flash-image"), load_catalog(), TODAY)
    assert warning is not None
    assert "gemini-2.5-flash-image is deprecated since 2026-09-18" in warning
    assert "use gemini-nano-banana-2.1 (Nano Banana 2.1) instead" in warning
    assert "only to projects that already used it" in warning  # the catalog's note


@pytest.mark.parametrize(
    ("model_id", "shutdown", "replacement"),
    [
        ("gemini-3.1-flash-image", "2026-10-29", "gemini-nano-banana-2.1"),
        ("gemini-3-pro-image-preview", "2026-06-25", "gemini-3-pro-image"),
        # its own replacement (gemini-3.1-flash-image) is shut down too: follow the chain
        ("gemini-3.1-flash-image-preview", "2026-06-25", "gemini-nano-banana-2.1"),
    ],
)
def test_a_shut_down_model_is_refused_naming_its_replacement(
    model_id: str, shutdown: str, replacement: str
) -> None:
    with pytest.raises(ModelShutDown) as excinfo:
        lifecycle_warning(_model(model_id), load_catalog(), TODAY)
    err = excinfo.value
    assert isinstance(err, ValidationFailed) and err.status_code == 422
    assert err.code == "model_shut_down"
    assert err.message.startswith(f"{model_id} was shut down on {shutdown}")
    assert f"use {replacement} (" in err.message
    assert err.details == {"model": model_id, "shutdown": shutdown, "replacement": replacement}


def _catalog_with(*models: ModelInfo) -> Catalog:
    return Catalog(list(models), unknown_fallback=models[0].id)


def test_a_deprecated_model_becomes_shut_down_on_its_shutdown_date() -> None:
    nb21 = _model("gemini-nano-banana-2.1")
    legacy = replace(
        _model("gemini-3-pro-image"),
        id="old-image",
        status="deprecated",
        deprecated_on=date(2026, 11, 1),
        shutdown_on=date(2026, 12, 10),
        replacement=nb21.id,
        lifecycle_note="",
    )
    catalog = _catalog_with(nb21, legacy)
    warning = lifecycle_warning(legacy, catalog, date(2026, 12, 9))
    assert warning is not None
    assert "Google shuts it down on 2026-12-10" in warning
    for day in (date(2026, 12, 10), date(2027, 1, 1)):
        assert legacy.status_on(day) == "shut_down"
        with pytest.raises(ModelShutDown, match="shut down on 2026-12-10"):
            lifecycle_warning(legacy, catalog, day)


def test_no_usable_replacement_says_to_pick_another_model() -> None:
    a = replace(_model("gemini-3.1-flash-image"), id="a", replacement="b")
    b = replace(_model("gemini-3.1-flash-image"), id="b", replacement="a")  # a cycle
    catalog = _catalog_with(a, b)
    assert catalog.successor(a, TODAY) is None
    with pytest.raises(ModelShutDown, match="pick another model") as excinfo:
        lifecycle_warning(a, catalog, TODAY)
    assert excinfo.value.details["replacement"] is None


def test_resolve_still_answers_shut_down_models_for_stored_jobs() -> None:
    info, warning = load_catalog().resolve("gemini-3-pro-image-preview")
    assert (info.id, warning, info.status) == ("gemini-3-pro-image-preview", None, "shut_down")
    assert info.price_for("4K") == pytest.approx(0.24)  # the scheduler still prices its outputs


def test_the_default_gemini_model_is_current_and_used_with_a_key(tmp_path: object) -> None:
    default = load_catalog().default_gemini_model
    assert default == "gemini-nano-banana-2.1"
    assert _model(default).status_on(TODAY) == "current"
    keyed = Settings(gemini_api_key="k", data_dir=tmp_path)  # type: ignore[arg-type]
    assert keyed.resolved_default_model == "gemini-nano-banana-2.1"
    assert Settings(data_dir=tmp_path).resolved_default_model == "classic"  # type: ignore[arg-type]


def test_every_model_not_current_names_a_replacement_that_new_jobs_may_use() -> None:
    catalog = load_catalog()
    for info in catalog.models():
        if info.status_on(TODAY) == "current":
            continue
        successor = catalog.successor(info, TODAY)
        assert successor is not None, info.id
        assert successor.status_on(TODAY) == "current", info.id
