"""Providers made on first use and reused (one HTTP client per provider).

Import-light on purpose: the RunPod worker image uses it without the server's
database and web dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field

from bananabatch.config import Settings
from bananabatch.errors import ValidationFailed
from bananabatch.providers.base import ImageProvider
from bananabatch.providers.factory import make_provider
from bananabatch.worker.cpu import Offload


@dataclass
class ProviderPool:
    settings: Settings
    offload: Offload | None = None
    _providers: dict[str, ImageProvider] = field(default_factory=dict)

    def __call__(self, name: str) -> ImageProvider:
        if name not in self._providers:
            if name not in ("classic", "gemini"):
                raise ValidationFailed(f"unknown provider {name!r}")
            self._providers[name] = make_provider(name, self.settings, self.offload)  # type: ignore[arg-type]
        return self._providers[name]

    def register(self, name: str, provider: ImageProvider) -> None:
        """Use this provider instance for `name` (benchmarks, embedding applications)."""
        self._providers[name] = provider

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
