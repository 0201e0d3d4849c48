"""Server-side login sessions: created at login, checked on every cookie request,
deleted at logout. A signed cookie alone cannot be taken back; a row can."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bananabatch.db.models import AuthSession, utcnow


def _row_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(factory: sessionmaker[Session], max_age_seconds: int) -> str:
    """A new session; returns the token the cookie carries. Expired rows are purged."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with factory() as session:
        session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
        session.add(
            AuthSession(
                id=_row_id(token),
                created_at=now,
                expires_at=now + timedelta(seconds=max_age_seconds),
            )
        )
        session.commit()
    return token


def session_active(factory: sessionmaker[Session], token: str) -> bool:
    with factory() as session:
        row = session.get(AuthSession, _row_id(token))
        return row is not None and row.expires_at > utcnow()


def revoke_session(factory: sessionmaker[Session], token: str) -> None:
    with factory() as session:
        session.execute(delete(AuthSession).where(AuthSession.id == _row_id(token)))
        session.commit()
