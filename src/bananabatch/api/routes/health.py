"""GET /health: is the server usable, and with which provider and executor."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

import bananabatch
from bananabatch.api.deps import SettingsDep
from bananabatch.api.schemas import (
    DbHealth,
    ExecutorHealth,
    GeminiKeyHealth,
    HealthOut,
    ProviderHealth,
)
from bananabatch.config import Settings
from bananabatch.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


def _check_db(runtime: Runtime) -> DbHealth:
    dialect = runtime.engine.dialect.name
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health: database check failed: %s", exc)
        return DbHealth(ok=False, dialect=dialect, error=type(exc).__name__)
    return DbHealth(ok=True, dialect=dialect)


def _storage_kind(settings: Settings) -> str:
    """Which store the settings select, for answers given before or without its own."""
    return "s3" if (settings.s3_bucket or "").strip() else "local"


def _check_storage(runtime: Runtime) -> dict[str, Any]:
    try:
        return dict(runtime.storage.health())
    except Exception as exc:
        log.warning("health: storage check failed: %s", exc)
        return {"kind": _storage_kind(runtime.settings), "ok": False, "error": type(exc).__name__}


def _check_gemini_key(runtime: Runtime) -> GeminiKeyHealth:
    """The key's state and usable image models, from one cached models.list call."""
    image_models = [m.id for m in runtime.catalog.models() if m.provider == "gemini"]
    access = runtime.preflight.key_access(image_models)
    return GeminiKeyHealth(
        state=access.state,
        message=access.message,
        models=[m for m in image_models if m in access.models],
        checked_at=access.checked_at,
    )


@router.get("/health", response_model=HealthOut, summary="Server, DB, storage, executor status")
async def get_health(request: Request, settings: SettingsDep) -> HealthOut:
    """Public (no login needed): shows whether a key is configured and whether Google
    accepts it (cached for minutes, so polling costs nothing), never the key."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    gemini_key = (
        await run_in_threadpool(_check_gemini_key, runtime)
        if runtime is not None
        else GeminiKeyHealth(
            state="unchecked", message="The server is starting.", models=[], checked_at=None
        )
    )
    provider = ProviderHealth(
        name=settings.resolved_provider,
        gemini_key_configured=settings.gemini_configured,
        default_model=settings.resolved_default_model,
        gemini_key=gemini_key,
    )
    auth_required = bool(request.app.state.authenticator.required)
    if runtime is None:
        return HealthOut(
            ok=False,
            version=bananabatch.__version__,
            auth_required=auth_required,
            db=DbHealth(ok=False, dialect="", error="starting"),
            storage={"kind": _storage_kind(settings), "ok": False, "error": "starting"},
            executor=ExecutorHealth(
                name=settings.resolved_executor, ok=False, orchestrator_running=False, in_flight=0
            ),
            provider=provider,
            outputs_per_task=settings.outputs_per_task,
        )
    db = await run_in_threadpool(_check_db, runtime)
    storage = await run_in_threadpool(_check_storage, runtime)
    try:
        orch = await runtime.jobs_health()
    except Exception as exc:
        log.warning("health: orchestrator check failed: %s", exc)
        orch = {"running": False, "in_flight": 0, "error": type(exc).__name__}
    details = orch.get("executor")
    executor_details: dict[str, Any] = dict(details) if isinstance(details, dict) else {}
    in_flight = orch.get("in_flight", 0)
    executor = ExecutorHealth(
        name=runtime.executor.name,
        ok=bool(executor_details.get("ok", True)) and "error" not in orch,
        orchestrator_running=bool(orch.get("running", False)),
        in_flight=in_flight if isinstance(in_flight, int) else 0,
        details={**executor_details, "limiter": orch.get("limiter")},
    )
    return HealthOut(
        ok=db.ok and bool(storage.get("ok", False)),
        version=bananabatch.__version__,
        auth_required=auth_required,
        db=db,
        storage=storage,
        executor=executor,
        provider=provider,
        outputs_per_task=settings.outputs_per_task,
    )
