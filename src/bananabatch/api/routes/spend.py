"""GET /spend: the spend ledger summed by day, job or model."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from bananabatch.api.deps import SessionDep
from bananabatch.api.schemas import SpendOut
from bananabatch.services.spend import GroupBy, spend_summary

router = APIRouter(tags=["spend"])


@router.get("/spend", response_model=SpendOut, summary="What was paid, by day, job or model")
async def get_spend(
    session: SessionDep,
    group_by: Annotated[GroupBy, Query(description="day, job or model")] = "day",
    since: Annotated[date | None, Query(description="From this UTC day on")] = None,
    job_id: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> SpendOut:
    return await run_in_threadpool(spend_summary, session, group_by, since, job_id)
