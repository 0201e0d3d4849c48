"""`GET /health`: the database, storage, executor and provider as the server sees them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from bananabatch.services.queries import UtcDateTime


class DbHealth(BaseModel):
    ok: bool
    dialect: str
    error: str | None = None


class GeminiKeyHealth(BaseModel):
    """What Google says about the configured key (cached a few minutes, never the key)."""

    state: Literal["ok", "key_invalid", "unreachable", "not_configured", "skipped", "unchecked"]
    message: str = Field(description="Why the key is not usable, or why it was not checked.")
    models: list[str] = Field(
        description="Catalog image models this key can use (models.list), in catalog order."
    )
    checked_at: UtcDateTime | None


class ProviderHealth(BaseModel):
    name: Literal["classic", "gemini"] = Field(description="The provider new jobs use.")
    gemini_key_configured: bool = Field(description="Whether a Gemini key is set (never the key).")
    default_model: str
    gemini_key: GeminiKeyHealth


class ExecutorHealth(BaseModel):
    name: str
    ok: bool
    orchestrator_running: bool
    in_flight: int
    details: dict[str, Any] = Field(default_factory=dict)


class HealthOut(BaseModel):
    ok: bool = Field(description="True when the DB and storage answer.")
    version: str
    auth_required: bool
    db: DbHealth
    storage: dict[str, Any]
    executor: ExecutorHealth
    provider: ProviderHealth
    outputs_per_task: int = Field(description="Images per task (a semi-automatic 'run').")
