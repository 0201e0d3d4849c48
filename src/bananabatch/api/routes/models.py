"""GET /models: the model catalog with lifecycle, limits and prices, for the job forms."""

from __future__ import annotations

from fastapi import APIRouter

from bananabatch.api.deps import RuntimeDep
from bananabatch.api.schemas import ModelOut
from bananabatch.domain.lifecycle import utc_today

router = APIRouter(tags=["models"])


@router.get("/models", response_model=list[ModelOut], summary="Image models and their limits")
async def list_models(runtime: RuntimeDep) -> list[ModelOut]:
    """Status is as of today (a model past its shutdown date is shut down), and a
    replacement is the first model along Google's chain that still answers."""
    settings = runtime.settings
    catalog = runtime.catalog
    default = settings.resolved_default_model
    today = utc_today()
    out = []
    for m in catalog.models():
        status = m.status_on(today)
        successor = catalog.successor(m, today) if status != "current" else None
        out.append(
            ModelOut.from_info(
                m,
                default=m.id == default,
                available=m.provider == "classic" or settings.gemini_configured,
                status=status,
                replacement=successor.id if successor else m.replacement,
            )
        )
    return out
