"""Settings, read once from the environment and `.env` (pydantic-settings).

Standard names are used where they exist (`GEMINI_API_KEY`, `RUNPOD_API_KEY`, ...);
everything of our own is `BANANABATCH_*`. Secrets are `SecretStr` so they never
show up in logs, reprs or API answers.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bananabatch.catalog import load_catalog

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """`"127.0.0.1, 10.0.0.0/8, ::1"` -> networks; ValueError naming a bad entry."""
    networks: list[IpNetwork] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or CIDR network (e.g. 127.0.0.1 or 10.0.0.0/8)"
            ) from None
    return tuple(networks)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BANANABATCH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(
        default=Path("./data"), description="Where the DB, assets and outputs live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite in data_dir when unset."
    )

    executor: Literal["auto", "local", "runpod"] = Field(
        default="auto",
        description="auto = runpod when RUNPOD_API_KEY and RUNPOD_ENDPOINT_ID are set, else local.",
    )
    provider: Literal["auto", "classic", "gemini"] = Field(
        default="auto", description="auto = gemini when a Gemini key is set, else classic."
    )
    default_model: str = Field(
        default="",
        description="Empty = the catalog's recommended Gemini model (gemini-nano-banana-2.1) "
        "with a key, classic without.",
    )

    daily_budget_usd: float | None = Field(
        default=None,
        ge=0.0,
        description="Most that all jobs together may spend per UTC day; work that could pass "
        "it is held (paused with the reason) until tomorrow or until the cap is raised.",
    )
    concurrency: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="Tasks in flight per executor; unset = 4 locally, 64 on RunPod.",
    )
    worker_concurrency: int = Field(
        default=4, ge=1, le=64, description="Provider calls at once inside one task."
    )
    cpu_processes: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=0,
        le=64,
        description=(
            "Worker processes for the CPU-bound steps of local generation (the classic "
            "model, the quality measurements), below the server's priority so the API "
            "stays fast; 0 runs them in threads of the server process."
        ),
    )
    jobs_process: bool = Field(
        default=True,
        description=(
            "`serve` runs the jobs (orchestrator, local generation, webhooks) in a child "
            "process, so the API stays fast while they run; false: in the server's process."
        ),
    )
    outputs_per_task: int = Field(default=4, ge=1, le=16)
    max_attempts: int = Field(
        default=4, ge=1, le=20, description="Dispatches of one output before it fails."
    )
    retry_base_seconds: float = Field(default=2.0, ge=0.0)
    retry_max_seconds: float = Field(default=120.0, ge=0.0)
    poll_interval_seconds: float = Field(default=0.25, gt=0.0)
    shutdown_grace_seconds: float = Field(
        default=8.0, ge=0.0, description="On stop, how long in-flight work may finish."
    )

    gemini_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "GEMINI_API_KEY", "GOOGLE_API_KEY", "BANANABATCH_GEMINI_API_KEY"
        ),
    )
    gemini_base_url: str | None = Field(
        default=None, description="Proxy / gateway base URL for Gemini."
    )
    gemini_api_version: str = "v1beta"
    gemini_timeout_seconds: float = Field(default=120.0, gt=0.0)
    gemini_preflight: bool = Field(
        default=True,
        description="Before a Gemini job is created, check the key and model with one "
        "models.get call (cached); turn off for a gateway without that endpoint.",
    )
    gemini_preflight_ttl_seconds: float = Field(
        default=300.0, ge=0.0, description="How long a preflight verdict is reused."
    )
    batch_max_lines: int = Field(
        default=200, ge=1, le=5000, description="Batch API: most output slots in one batch."
    )
    batch_max_bytes: int = Field(
        default=1 << 30,
        ge=1 << 20,
        description="Batch API: most bytes of JSONL in one batch (the Files API takes 2 GB): "
        "with many large references a batch holds fewer images.",
    )
    batch_gather_seconds: float = Field(
        default=2.0, ge=0.0, description="Batch API: tasks claimed within this share a batch."
    )
    batch_poll_seconds: float = Field(
        default=60.0, gt=0.0, description="Batch API: how often a waiting batch is asked about."
    )
    batch_download_retry_seconds: float = Field(
        default=30.0, gt=0.0, description="Batch API: first wait after a failed result download."
    )
    batch_download_timeout_seconds: float = Field(
        default=300.0,
        gt=0.0,
        description="Batch API: a result download that receives nothing for this long is "
        "given up and retried (it counts as a failed download).",
    )
    batch_download_attempts: int = Field(
        default=14,
        ge=1,
        description="Batch API: downloads tried (waits doubling up to 30 min, about 6 h in all) "
        "before a batch's results count as lost and its outputs are queued again.",
    )

    runpod_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("RUNPOD_API_KEY", "BANANABATCH_RUNPOD_API_KEY")
    )
    runpod_endpoint_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RUNPOD_ENDPOINT_ID", "BANANABATCH_RUNPOD_ENDPOINT_ID"),
    )

    runpod_api_url: str = Field(
        default="https://api.runpod.ai/v2", description="RunPod's serverless cloud API base."
    )
    runpod_poll_concurrency: int = Field(
        default=8, ge=1, le=64, description="`/status` requests at once (far under the limits)."
    )
    runpod_first_poll_seconds: float = Field(
        default=1.0,
        gt=0.0,
        description="First `/status` check after submit; later checks space out (x4 running, "
        "x10 queued). A webhook makes a finished task due at once.",
    )
    runpod_execution_timeout_seconds: float = Field(
        default=600.0, gt=0.0, description="Per task: RunPod's policy.executionTimeout."
    )
    runpod_ttl_seconds: float = Field(
        default=24 * 3600.0, gt=0.0, description="Per task: RunPod's policy.ttl (queue + run)."
    )
    public_url: str | None = Field(
        default=None,
        description="This server's URL as RunPod workers reach it: signed reference/upload "
        "URLs and completion webhooks.",
    )
    s3_bucket: str | None = Field(default=None, description="Store everything in this bucket.")
    s3_endpoint_url: str | None = Field(
        default=None, description="An S3-compatible service (MinIO, R2, ...); AWS when unset."
    )
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket.")
    s3_region: str | None = Field(default=None, description="The bucket's region.")
    transport_url_ttl_seconds: int = Field(
        default=24 * 3600 + 3600,
        ge=60,
        le=7 * 24 * 3600,
        description="Lifetime of presigned/signed URLs carried in RunPod payloads.",
    )

    host: str = "127.0.0.1"
    port: int = 8000
    password: SecretStr | None = None
    api_tokens: str = Field(default="", description="Comma-separated bearer tokens.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="`serve`'s log level; the access log (a line per request, every poll "
        "of the web UI) is written at debug only.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For/"
        "-Proto/-Host headers are believed; none by default.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Cookie signing key; derived when unset."
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024, description="Largest request body accepted."
    )
    max_image_bytes: int = Field(
        default=100 * 1024 * 1024, description="Largest single image file."
    )
    max_image_pixels: int = Field(
        default=64_000_000, description="Decompression-bomb limit per image."
    )
    max_zip_entries: int = 50_000
    max_zip_uncompressed_bytes: int = 8 * 1024 * 1024 * 1024
    max_zip_ratio: float = 200.0
    export_part_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024, description="Split exports larger than this."
    )
    webhook_url: str | None = Field(
        default=None,
        description="Default webhook for jobs that name none: POSTed when a job completes, "
        "fails, is cancelled or is held at a budget cap.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Key of the X-BananaBatch-Signature HMAC-SHA256 over each webhook body.",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(default=5.0, ge=0.0)
    webhook_retry_max_seconds: float = Field(default=3600.0, ge=0.0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0.0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0.0)
    web_dir: Path | None = Field(
        default=None, description="Built web UI; defaults to web/out when present."
    )

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        from bananabatch.notify.events import check_webhook_url

        return check_webhook_url(value) if value and value.strip() else None

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        """A typo here would silently trust nobody (or the wrong host): refuse it at start."""
        parse_networks(value)
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bananabatch.db').resolve()}"

    @property
    def runpod_configured(self) -> bool:
        key = self.runpod_api_key.get_secret_value().strip() if self.runpod_api_key else ""
        return bool(key) and bool((self.runpod_endpoint_id or "").strip())

    @property
    def resolved_executor(self) -> Literal["local", "runpod"]:
        if self.executor == "auto":
            return "runpod" if self.runpod_configured else "local"
        return self.executor

    @property
    def resolved_concurrency(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        return 64 if self.resolved_executor == "runpod" else 4

    @property
    def gemini_configured(self) -> bool:
        return self.gemini_api_key is not None and bool(self.gemini_api_key.get_secret_value())

    @property
    def resolved_provider(self) -> Literal["classic", "gemini"]:
        if self.provider == "auto":
            return "gemini" if self.gemini_configured else "classic"
        return self.provider

    @property
    def resolved_default_model(self) -> str:
        if self.default_model:
            return self.default_model
        if self.resolved_provider != "gemini":
            return "classic"
        return load_catalog().default_gemini_model or "classic"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
