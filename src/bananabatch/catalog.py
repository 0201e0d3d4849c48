"""The model catalog: which image models exist, their lifecycle, limits and prices.

The data lives in one file, `catalog.json`, shipped inside the package, so a new
model, a shutdown date or a price change is a data edit, not a code change. Every
Gemini model names the URL its facts were checked against (`sources`).

Model ids change often (preview ids go GA, new versions appear), so
`Catalog.resolve` accepts an unknown `gemini*` id with conservative limits and a
warning instead of refusing it. What a *new* job may use (deprecated = warn,
shut down = refuse) is decided in `domain/lifecycle.py`; `resolve` itself never
refuses a known model, so jobs stored on a model that was shut down later still
load, display and price.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, cast

from bananabatch.errors import UnknownModel, ValidationFailed

logger = logging.getLogger(__name__)

CATALOG_FILE = "catalog.json"
Provider = Literal["gemini", "classic"]
Lifecycle = Literal["current", "deprecated", "shut_down"]
_PROVIDERS: tuple[Provider, ...] = ("gemini", "classic")
_LIFECYCLES: tuple[Lifecycle, ...] = ("current", "deprecated", "shut_down")
DEFAULT_PRICE_KEY = "default"
TOKEN_PRICE_KEYS = ("input", "output", "output_image")
SOURCE_KEYS = ("lifecycle", "limits", "prices", "batch_prices")


@dataclass(frozen=True)
class TokenPrices:
    """USD per 1M tokens: input (text and images), text/thinking output, image output."""

    input: float
    output: float
    output_image: float


@dataclass(frozen=True)
class ModelInfo:
    """One image model as the planner, the estimator and the providers see it."""

    id: str
    display_name: str
    provider: Provider
    max_reference_images: int
    aspect_ratios: tuple[str, ...]
    image_sizes: tuple[str, ...]  # () when the model has no image_size option
    default_image_size: str | None
    price_per_image: dict[str, float]  # by size; key "default" when the model has no sizes
    batch_price_per_image: dict[str, float]  # Gemini Batch API price (half of standard)
    supports_image_config: bool  # whether aspect_ratio / image_size may be sent
    description: str
    preview: bool
    known: bool = True
    status: Lifecycle = "current"
    released_on: date | None = None
    deprecated_on: date | None = None
    shutdown_on: date | None = None
    replacement: str | None = None  # the id Google recommends instead
    lifecycle_note: str = ""
    token_prices: TokenPrices | None = None
    batch_token_prices: TokenPrices | None = None
    input_image_tokens: int | None = None  # tokens billed per reference image, when known
    sources: dict[str, str] | None = None  # fact group (SOURCE_KEYS) -> URL checked
    used_reference_images: int | None = None  # how many it really uses; None: all it accepts

    @property
    def references_used(self) -> int:
        """References a call actually uses (the classic provider uses only the first)."""
        if self.used_reference_images is None:
            return self.max_reference_images
        return min(self.used_reference_images, self.max_reference_images)

    def __hash__(self) -> int:
        # The price dicts make the generated hash fail; the id identifies a model.
        return hash((self.id, self.known))

    @property
    def has_image_sizes(self) -> bool:
        return bool(self.image_sizes)

    def status_on(self, day: date) -> Lifecycle:
        """The lifecycle on `day`: a model past its shutdown date is shut down even
        before the data file says so (the date is known in advance)."""
        if self.shutdown_on is not None and day >= self.shutdown_on:
            return "shut_down"
        return self.status

    def effective_image_size(self, image_size: str | None) -> str | None:
        """The size a request really gets: the given one, else the model default.

        None for a model without sizes (the size option is ignored there).
        """
        if not self.image_sizes:
            return None
        size = image_size or self.default_image_size
        if size not in self.image_sizes:
            raise ValidationFailed(
                f"{self.id} has no image size {size!r}; "
                f"choose one of {', '.join(self.image_sizes)}."
            )
        return size

    def price_for(self, image_size: str | None, *, batch: bool = False) -> float:
        """USD per output image at `image_size` (None = the model's default size)."""
        table = self.batch_price_per_image if batch else self.price_per_image
        size = self.effective_image_size(image_size)
        return table[size if size is not None else DEFAULT_PRICE_KEY]


class Catalog:
    """The known models, in catalog order, looked up by id."""

    def __init__(
        self,
        models: list[ModelInfo],
        *,
        unknown_fallback: str,
        default_gemini_model: str | None = None,
    ) -> None:
        self._models = list(models)
        self._by_id = {m.id: m for m in models}
        if len(self._by_id) != len(models):
            raise ValueError("catalog has duplicate model ids")
        if unknown_fallback not in self._by_id:
            raise ValueError(f"unknown_gemini_fallback {unknown_fallback!r} is not in the catalog")
        self._fallback = self._by_id[unknown_fallback]
        for m in models:
            if m.replacement is not None and m.replacement not in self._by_id:
                raise ValueError(f"{m.id}: replacement {m.replacement!r} is not in the catalog")
        default = default_gemini_model or next(
            (m.id for m in models if m.provider == "gemini" and m.status == "current"), None
        )
        if default is not None:
            chosen = self._by_id.get(default)
            if chosen is None or chosen.provider != "gemini" or chosen.status != "current":
                raise ValueError(f"default_gemini_model {default!r} must be a current Gemini model")
        self._default_gemini = default

    @property
    def default_gemini_model(self) -> str | None:
        """The model Gemini jobs use when they name none: Google's current recommendation."""
        return self._default_gemini

    def models(self) -> list[ModelInfo]:
        return list(self._models)

    def ids(self) -> list[str]:
        return [m.id for m in self._models]

    def get(self, model_id: str) -> ModelInfo | None:
        return self._by_id.get(normalize_model_id(model_id))

    def successor(self, model: ModelInfo, day: date) -> ModelInfo | None:
        """The first model along the `replacement` chain still usable on `day`, so a
        shut-down preview points at today's model, not at its shut-down GA twin."""
        seen = {model.id}
        current = model
        while current.replacement is not None and current.replacement not in seen:
            current = self._by_id[current.replacement]
            if current.status_on(day) != "shut_down":
                return current
            seen.add(current.id)
        return None

    def resolve(self, model_id: str) -> tuple[ModelInfo, str | None]:
        """The model for `model_id`, plus a warning when it is not in the catalog.

        An unknown id starting with "gemini" is accepted (ids change faster than
        this file) with conservative limits: the fallback model's references,
        aspect ratios and price, and no image size. Anything else raises
        UnknownModel listing the known ids. Known models resolve whatever their
        lifecycle, so stored jobs keep working.
        """
        normalized = normalize_model_id(model_id)
        known = self._by_id.get(normalized)
        if known is not None:
            return known, None
        if normalized.startswith("gemini"):
            fb = self._fallback
            info = replace(
                fb,
                id=normalized,
                display_name=normalized,
                image_sizes=(),
                default_image_size=None,
                price_per_image={DEFAULT_PRICE_KEY: fb.price_for(None)},
                batch_price_per_image={DEFAULT_PRICE_KEY: fb.price_for(None, batch=True)},
                description=f"Not in the catalog; treated like {fb.id}.",
                preview=False,
                known=False,
                status="current",
                released_on=None,
                deprecated_on=None,
                shutdown_on=None,
                replacement=None,
                lifecycle_note="",
                sources=None,
            )
            warning = (
                f"Model {normalized!r} is not in the catalog; it is used with conservative "
                f"limits ({fb.max_reference_images} reference images, the {fb.id} aspect "
                f"ratios, no image size) and the estimate uses the {fb.id} price "
                f"(${fb.price_for(None):.3f}/image). Known models: {', '.join(self.ids())}."
            )
            logger.warning("unknown model id accepted: %s", normalized)
            return info, warning
        raise UnknownModel(
            f"Unknown model {model_id!r}. Known models: {', '.join(self.ids())} "
            "(or any other Gemini image model id starting with 'gemini').",
            details={"model": model_id, "known": self.ids()},
        )

    def check_new_id(self, model_id: str) -> None:
        """Raise UnknownModel for an id a new job must not use: an unknown id that does
        not look like a Gemini model id. Jobs already stored keep resolving as before."""
        normalized = normalize_model_id(model_id)
        if normalized in self._by_id or not normalized.startswith("gemini"):
            return  # known, or `resolve` gives the full "unknown model" error
        if not _UNKNOWN_GEMINI_ID.fullmatch(normalized):
            raise UnknownModel(
                f"{model_id[:80]!r} is not a model id: use letters, digits, '.', '-' and '_' "
                f"only (at most 128 characters). Known models: {', '.join(self.ids())}.",
                details={"model": model_id[:200], "known": self.ids()},
            )

    def accepting_references(self, count: int) -> list[ModelInfo]:
        """Known models that accept at least `count` reference images."""
        return [m for m in self._models if m.max_reference_images >= count]


_UNKNOWN_GEMINI_ID = re.compile(r"gemini[a-z0-9._-]{0,121}")
"""What an unknown id must look like to be accepted: the id becomes a path segment of
the Gemini URL (`models/{id}:generateContent`), so no `/`, `?`, `#` or `..` segment,
and it must fit the 128-character `model` column."""


def normalize_model_id(model_id: str) -> str:
    """Trim, lower-case and drop the API's `models/` prefix."""
    normalized = model_id.strip().lower()
    return normalized.removeprefix("models/")


# ---- loading: every entry is checked, so a bad data edit fails loudly at start -----------


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings")
    return tuple(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{where}: expected a price >= 0")
    return float(value)


def _prices(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{where}: expected a non-empty object of prices")
    return {str(key): _number(price, f"{where}.{key}") for key, price in value.items()}


def _token_prices(value: Any, where: str) -> TokenPrices | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(TOKEN_PRICE_KEYS):
        raise ValueError(f"{where}: expected an object with keys {list(TOKEN_PRICE_KEYS)}")
    return TokenPrices(**{k: _number(value[k], f"{where}.{k}") for k in TOKEN_PRICE_KEYS})


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: expected a YYYY-MM-DD date or null") from None


def _sources(value: Any, mid: str, provider: str) -> dict[str, str] | None:
    if value is None:
        if provider == "gemini":
            raise ValueError(f"{mid}: a Gemini model must cite its sources")
        return None
    if not isinstance(value, dict) or set(value) != set(SOURCE_KEYS):
        raise ValueError(f"{mid}.sources: expected an object with keys {list(SOURCE_KEYS)}")
    for key, url in value.items():
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ValueError(f"{mid}.sources.{key}: expected an https URL")
    return dict(value)


def _lifecycle(raw: dict[str, Any], mid: str) -> dict[str, Any]:
    status = raw.get("status", "current")
    if status not in _LIFECYCLES:
        raise ValueError(f"{mid}: status must be one of {_LIFECYCLES}")
    fields = {
        "status": cast(Lifecycle, status),
        "released_on": _date(raw.get("released"), f"{mid}.released"),
        "deprecated_on": _date(raw.get("deprecated"), f"{mid}.deprecated"),
        "shutdown_on": _date(raw.get("shutdown"), f"{mid}.shutdown"),
        "replacement": raw.get("replacement") or None,
        "lifecycle_note": str(raw.get("lifecycle_note") or ""),
    }
    if status == "shut_down" and fields["shutdown_on"] is None:
        raise ValueError(f"{mid}: a shut-down model needs its shutdown date")
    if status != "current" and fields["replacement"] is None:
        raise ValueError(f"{mid}: a {status} model must name its replacement")
    return fields


def _model_from_json(raw: Any) -> ModelInfo:
    """Build and sanity-check one entry."""
    if not isinstance(raw, dict):
        raise ValueError("catalog: every model must be an object")
    mid = raw.get("id")
    if not isinstance(mid, str) or not mid:
        raise ValueError("catalog: a model has no id")
    provider = raw.get("provider")
    if provider not in _PROVIDERS:
        raise ValueError(f"{mid}: provider must be one of {_PROVIDERS}")
    sizes = _str_tuple(raw.get("image_sizes", []), f"{mid}.image_sizes")
    default_size = raw.get("default_image_size")
    prices = _prices(raw.get("price_per_image"), f"{mid}.price_per_image")
    batch_prices = _prices(raw.get("batch_price_per_image"), f"{mid}.batch_price_per_image")
    expected_keys = set(sizes) if sizes else {DEFAULT_PRICE_KEY}
    for name, table in (("price_per_image", prices), ("batch_price_per_image", batch_prices)):
        if set(table) != expected_keys:
            raise ValueError(f"{mid}.{name}: keys must be {sorted(expected_keys)}")
    if sizes and default_size not in sizes:
        raise ValueError(f"{mid}: default_image_size must be one of {sizes}")
    if not sizes and default_size is not None:
        raise ValueError(f"{mid}: default_image_size must be null without image_sizes")
    max_refs = raw.get("max_reference_images")
    if isinstance(max_refs, bool) or not isinstance(max_refs, int) or max_refs < 0:
        raise ValueError(f"{mid}: max_reference_images must be an integer >= 0")
    used_refs = raw.get("used_reference_images")
    if used_refs is not None and (
        isinstance(used_refs, bool) or not isinstance(used_refs, int) or used_refs < 0
    ):
        raise ValueError(f"{mid}: used_reference_images must be an integer >= 0 or absent")
    aspect_ratios = _str_tuple(raw.get("aspect_ratios"), f"{mid}.aspect_ratios")
    if not aspect_ratios:
        raise ValueError(f"{mid}: aspect_ratios must not be empty")
    image_tokens = raw.get("input_image_tokens")
    if image_tokens is not None and (not isinstance(image_tokens, int) or image_tokens <= 0):
        raise ValueError(f"{mid}: input_image_tokens must be a positive integer or null")
    return ModelInfo(
        id=mid,
        display_name=str(raw.get("display_name") or mid),
        provider=cast(Provider, provider),
        max_reference_images=max_refs,
        used_reference_images=used_refs,
        aspect_ratios=aspect_ratios,
        image_sizes=sizes,
        default_image_size=default_size if sizes else None,
        price_per_image=prices,
        batch_price_per_image=batch_prices,
        supports_image_config=bool(raw.get("supports_image_config", False)),
        description=str(raw.get("description", "")),
        preview=bool(raw.get("preview", False)),
        token_prices=_token_prices(raw.get("price_per_million_tokens"), f"{mid}.tokens"),
        batch_token_prices=_token_prices(
            raw.get("batch_price_per_million_tokens"), f"{mid}.batch_tokens"
        ),
        input_image_tokens=image_tokens,
        sources=_sources(raw.get("sources"), mid, str(provider)),
        **_lifecycle(raw, mid),
    )


def parse_catalog(data: Any) -> Catalog:
    """Build a Catalog from the decoded JSON document (raises ValueError when malformed)."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ValueError("catalog: expected an object with a 'models' list")
    models = [_model_from_json(raw) for raw in data["models"]]
    fallback = data.get("unknown_gemini_fallback", "gemini-2.5-flash-image")
    default = data.get("default_gemini_model")
    return Catalog(
        models,
        unknown_fallback=str(fallback),
        default_gemini_model=str(default) if default else None,
    )


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged catalog, read once per process."""
    text = resources.files("bananabatch").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))
