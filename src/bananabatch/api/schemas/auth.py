"""Logging in, and whether this browser's session is."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bananabatch.api.schemas.request_body import RequestBody


class LoginIn(RequestBody):
    password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    authenticated: bool
    auth_required: bool
