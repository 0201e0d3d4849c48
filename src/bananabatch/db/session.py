"""Engine and session factory. SQLite gets WAL and a busy timeout so the API,
the orchestrator and a CLI can share one database file safely."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

P = ParamSpec("P")
R = TypeVar("R")


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        # Never wait for a pooled connection: with a bounded pool, 50 pollers could hold
        # every connection while the threads that would release them wait for one (a
        # 30 s stall). A SQLite connection is a file handle; 20 stay open, more come and go.
        kwargs["pool_size"] = 20
        kwargs["max_overflow"] = -1
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session], *, lock: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (`lock`: see
    `write_scope`)."""
    session = factory()
    try:
        if lock:
            take_write_lock(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_LOCKED = "bananabatch.write_lock"


def take_write_lock(session: Session) -> None:
    """Begin the session's transaction holding SQLite's write lock, so what it reads
    next is still true when it writes (see `write_scope`). A no-op inside a write
    transaction already begun; other databases lock the rows read `FOR UPDATE`."""
    conn = session.connection()
    changes: int | None = None
    if conn.dialect.name == "sqlite":
        raw: Any = conn.connection.dbapi_connection
        if raw.in_transaction:
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        changes = raw.total_changes
    session.info[_LOCKED] = (session.get_transaction(), changes)


def release_write_lock(session: Session, *, failed: bool = False) -> None:
    """End the transaction `take_write_lock` began if it is still open: an action that
    refused, or found nothing to do, must not keep every writer waiting until its
    session is closed (after the HTTP answer is sent). Nothing written: committed,
    which keeps the objects it loaded; anything written and not committed: rolled back."""
    began = session.info.pop(_LOCKED, None)
    if began is None or began[0] is not session.get_transaction():
        return  # committed (or rolled back) by the action itself
    pending = bool(session.new or session.dirty or session.deleted)
    if began[1] is not None:  # SQLite counts the rows each connection changed
        raw: Any = session.connection().connection.dbapi_connection
        wrote = pending or raw.total_changes != began[1]
    else:
        wrote = pending or failed
    if wrote:
        session.rollback()
    else:
        session.commit()


def releases_write_lock(
    action: Callable[Concatenate[Session, P], R],
) -> Callable[Concatenate[Session, P], R]:
    """For an action that takes the write lock: however it ends, the lock is gone when
    it returns (its own commit, or `release_write_lock`)."""

    @functools.wraps(action)
    def run(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = action(session, *args, **kwargs)
        except BaseException:
            release_write_lock(session, failed=True)
            raise
        release_write_lock(session)
        return result

    return run


def write_scope(factory: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """A `session_scope` for read-decide-write rounds (a claim, a settle): what the
    round reads is still true when it writes. Python's sqlite3 reads outside any
    transaction until the first write, so a pause or cancel committed in between would
    be overwritten by a decision made on the old status; here SQLite's write lock is
    taken before the first read (`BEGIN IMMEDIATE`), and the other writer waits for the
    round or comes wholly before it. Other databases lock the job rows the round reads
    (`with_for_update`)."""
    return session_scope(factory, lock=True)
