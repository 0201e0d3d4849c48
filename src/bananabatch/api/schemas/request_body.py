"""The base of the API's own JSON request bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """Request bodies: unknown fields refused, no type coercion (see job_requests)."""

    model_config = ConfigDict(extra="forbid", strict=True)
