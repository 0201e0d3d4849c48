"""Build a provider by name from the settings (the one place that reads the key)."""

from __future__ import annotations

from typing import Literal

from bananabatch.config import Settings
from bananabatch.errors import ValidationFailed
from bananabatch.providers.base import ImageProvider
from bananabatch.providers.classic import ClassicProvider
from bananabatch.providers.gemini import GeminiProvider
from bananabatch.worker.cpu import Offload

ProviderName = Literal["classic", "gemini"]


def make_provider(
    name: ProviderName, settings: Settings, offload: Offload | None = None
) -> ImageProvider:
    """A new provider; the caller owns it and must `await provider.aclose()`.
    `offload` runs CPU-bound work (the classic provider's) elsewhere than a thread."""
    if name == "classic":
        return ClassicProvider(offload)
    if name == "gemini":
        key = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else ""
        if not key.strip():
            raise ValidationFailed(
                "Set GEMINI_API_KEY to use Gemini models, or choose the offline "
                "'classic' model that needs no key."
            )
        return GeminiProvider(
            api_key=key.strip(),
            base_url=settings.gemini_base_url or None,
            api_version=settings.gemini_api_version,
            timeout_seconds=settings.gemini_timeout_seconds,
        )
    raise ValidationFailed(f"Unknown provider {name!r}: use 'classic' or 'gemini'.")
