"""Login sessions, so a cookie can be revoked before its signature expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from bananabatch.db.models.base import Base, utcnow


class AuthSession(Base):
    """A login session. The cookie names it, so deleting the row revokes the cookie
    (logout) before its signature expires. The id is the sha256 of the cookie's
    session token, so a copy of the database cannot be turned into cookies."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
