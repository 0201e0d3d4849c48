"""Migrating an empty database to head leaves no difference from the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bananabatch.db.migrate import upgrade
from bananabatch.db.models import Base
from bananabatch.db.session import make_engine


def test_migrations_match_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_storage_keys_cannot_escape(tmp_path: Path) -> None:
    import pytest

    from bananabatch.storage.base import StorageKeyError
    from bananabatch.storage.local import LocalStorage

    store = LocalStorage(tmp_path / "s")
    store.put_bytes("a/b.txt", b"x")
    assert store.get_bytes("a/b.txt") == b"x"
    for bad in ("../x", "/etc/passwd", "a/../../x", "a\\b", "a//b", ""):
        with pytest.raises(StorageKeyError):
            store.put_bytes(bad, b"x")
    assert list(store.iter_keys("")) == ["a/b.txt"]


def test_0004_labels_upgrades_existing_rows_and_downgrades(tmp_path: Path) -> None:
    """Datasets made before labels are read again on first use; outputs start unreviewed."""
    import sqlite3

    from alembic import command

    from bananabatch.db.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0003")
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("INSERT INTO datasets (id, name, created_at) VALUES ('d1', 'old', '2026-01-01')")
    conn.commit()
    upgrade(url)
    assert conn.execute("SELECT labels_stale, label_summary FROM datasets").fetchall() == [
        (1, None)
    ]
    command.downgrade(alembic_config(url), "0003")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(outputs)")}
    assert "review" not in columns
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not tables & {"dataset_files", "output_flags"}
    conn.close()
