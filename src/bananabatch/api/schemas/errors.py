"""The one error body every failing route answers with (`api/errors.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `unknown_model`.")
    message: str = Field(description="What went wrong and what to do about it.")
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody
