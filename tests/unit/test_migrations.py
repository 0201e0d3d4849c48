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


def test_0010_keeps_spend_entries_of_deleted_jobs(tmp_path: Path) -> None:
    """A deleted job's ledger entries stay (with no job); downgrading drops them again."""
    import sqlite3

    from alembic import command

    from bananabatch.db.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0011")
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "INSERT INTO jobs (id, mode, name, provider, model, status, priority, seed, spec, "
        "options, reference_asset_ids, include_originals, total_outputs, total_tasks, "
        "cost_estimate, cost_actual, route, revision, created_at, updated_at) VALUES "
        "('j1', 'automatic', '', 'classic', 'm', 'completed', 0, 0, '{}', '{}', '[]', 0, 0, 0, "
        "0, 0, 'standard', 0, '2026-01-01', '2026-01-01')"
    )
    conn.execute(
        "INSERT INTO spend_entries (job_id, attempt, model, route, outcome, input_tokens, "
        "output_tokens, cost, priced_by, paid_twice, created_at) VALUES "
        "('j1', 1, 'm', 'standard', 'image', 0, 0, 0.04, 'image', 0, '2026-01-01')"
    )
    conn.commit()
    upgrade(url)
    conn.execute("DELETE FROM jobs WHERE id = 'j1'")
    conn.commit()
    assert conn.execute("SELECT job_id, cost FROM spend_entries").fetchall() == [(None, 0.04)]
    command.downgrade(alembic_config(url), "0011")
    assert conn.execute("SELECT count(*) FROM spend_entries").fetchall() == [(0,)]
    conn.close()
