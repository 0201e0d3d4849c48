"""GET /models: the model catalog with limits and prices, for the job forms."""

from __future__ import annotations

from fastapi import APIRouter

from bananabatch.api.deps import RuntimeDep
from bananabatch.api.schemas import ModelOut

router = APIRouter(tags=["models"])


@router.get("/models", response_model=list[ModelOut], summary="Image models and their limits")
async def list_models(runtime: RuntimeDep) -> list[ModelOut]:
    settings = runtime.settings
    default = settings.resolved_default_model
    return [
        ModelOut.from_info(
            m,
            default=m.id == default,
            available=m.provider == "classic" or settings.gemini_configured,
        )
        for m in runtime.catalog.models()
    ]
