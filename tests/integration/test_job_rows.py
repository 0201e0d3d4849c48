"""A job's rows are written in chunks straight to the driver: they must be exactly the
plan (prompts, seeds, names, order, wildcard picks as derived before) and carry every
default the ORM would have set, the same as through Core `insert()`."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bananabatch.db.migrate import upgrade
from bananabatch.db.models import Asset, Batch, Job, JobStatus, Output, Task, new_id, utcnow
from bananabatch.db.session import make_engine, make_session_factory
from bananabatch.domain.plan import (
    AutomaticSpec,
    SourceImage,
)
from bananabatch.domain.plan_automatic import (
    plan_automatic,
)
from bananabatch.services import job_rows

SEED = 424242
TEMPLATE = "the same {class}, {winter|summer|autumn} light, {stem}"


def _reference_seed(*parts: object) -> int:
    """Seed derivation as first written (json.dumps of the list, sha256)."""
    material = json.dumps([SEED, *parts], ensure_ascii=False, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big") % 2**31


def _plan(n: int = 300) -> Any:
    sources = [
        SourceImage(rel_path=f'clåss{i % 3}/img "{i:04d}".jpg', asset_id=f"{i:032x}")
        for i in range(n)
    ]
    spec = AutomaticSpec(
        prompt=TEMPLATE, variations=3, seed=SEED, output_format="png", outputs_per_task=2
    )
    return plan_automatic(spec, sources)


def test_the_plan_keeps_the_seeds_and_picks_it_always_had() -> None:
    plan = _plan(40)
    for batch in plan.batches:
        for task in batch.tasks:
            for out in task.outputs:
                assert out.seed == _reference_seed(out.source_path, out.variation)
    first = plan.batches[0].tasks[0].outputs[0]
    pick = random.Random(_reference_seed("wildcard", 0, first.variation, 0)).choice(
        ["winter", "summer", "autumn"]
    )
    assert first.prompt == f'the same clåss0, {pick} light, img "0000"'


def _store(tmp_path: Path, name: str, driver: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    if not driver:  # the Core path other databases take
        real = job_rows._Layout.__init__

        def core(self: Any, *args: Any) -> None:
            real(self, *args)
            self.driver = False
            self.tail = tuple(
                utcnow() if c == "created_at" else v
                for c, v in zip(
                    self.columns[len(self.columns) - len(self.tail) :], self.tail, strict=True
                )
            )

        monkeypatch.setattr(job_rows._Layout, "__init__", core)
    plan = _plan()
    with factory() as s:
        for i in range(300):
            s.add(Asset(id=f"{i:032x}", mime_type="image/jpeg", format="JPEG", width=1,
                        height=1, size_bytes=1, storage_key=f"assets/{i}.jpg"))  # fmt: skip
        s.flush()
        job = Job(
            id=new_id(), mode="automatic", name="j", provider="classic", model="classic",
            status=JobStatus.queued, seed=SEED, spec={}, options={},
            total_outputs=plan.total_outputs, total_tasks=plan.total_tasks, cost_estimate=0,
        )  # fmt: skip
        s.add(job)
        monkeypatch.setattr(job_rows, "CHUNK", 100)  # several chunks
        job_rows.insert_plan_rows(s, job.id, plan, "classic")
        s.commit()
        monkeypatch.undo()
        outputs = s.scalars(select(Output).order_by(Output.position)).all()
        tasks = s.scalars(select(Task).order_by(Task.source_path, Task.position)).all()
        batches = s.scalars(select(Batch).order_by(Batch.position)).all()
        skip = {"id", "job_id", "batch_id", "task_id", "created_at"}

        def values(rows: Any) -> list[dict[str, Any]]:
            return [
                {c.key: getattr(r, c.key) for c in r.__table__.columns if c.key not in skip}
                for r in rows
            ]

        assert all(o.created_at is not None and o.created_at.year > 2000 for o in outputs)
        lineage = [(o.task_id in {t.id for t in tasks}) for o in outputs]
        return plan, values(outputs), values(tasks), values(batches), all(lineage)


def test_rows_are_the_plan_with_the_orm_defaults_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, outputs, tasks, batches, linked = _store(tmp_path, "driver.db", True, monkeypatch)
    planned = [o for b in plan.batches for t in b.tasks for o in t.outputs]
    assert linked and len(outputs) == plan.total_outputs == 900
    assert [(o["position"], o["prompt"], o["seed"], o["archive_path"]) for o in outputs] == [
        (p.position, p.prompt, p.seed, p.archive_path) for p in planned
    ]
    first = outputs[0]
    assert (first["status"], first["attempt"], first["cost"], first["input_tokens"]) == (
        "pending", 0, 0.0, 0,
    )  # fmt: skip
    assert (first["review"], first["regenerations"], first["change_seq"]) == ("unreviewed", 0, 0)
    assert {t["status"] for t in tasks} == {"queued"} and len(tasks) == plan.total_tasks
    core = _store(tmp_path, "core.db", False, monkeypatch)
    assert (core[1], core[2], core[3]) == (outputs, tasks, batches)


def _insert(tmp_path: Path, plan: Any) -> Any:
    url = f"sqlite:///{tmp_path / 'rows.db'}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    s = factory()
    for i in range(300):
        s.add(Asset(id=f"{i:032x}", mime_type="image/jpeg", format="JPEG", width=1,
                    height=1, size_bytes=1, storage_key=f"assets/{i}.jpg"))  # fmt: skip
    job = Job(
        id=new_id(), mode="automatic", name="j", provider="classic", model="classic",
        status=JobStatus.queued, seed=SEED, spec={}, options={},
        total_outputs=plan.total_outputs, total_tasks=plan.total_tasks, cost_estimate=0,
    )  # fmt: skip
    s.add(job)
    job_rows.insert_plan_rows(s, job.id, plan, "classic")
    s.commit()
    return s


def test_created_at_is_stored_as_the_orm_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole second too: the driver's own datetime adapter would drop `.000000`."""
    monkeypatch.setattr(job_rows, "utcnow", lambda: datetime(2024, 5, 6, 7, 8, 9))
    with _insert(tmp_path, _plan(20)) as s:
        for table in ("tasks", "outputs"):  # batches have no created_at
            stored = s.execute(text(f"select distinct created_at from {table}")).scalars().all()
            assert stored == ["2024-05-06 07:08:09.000000"]


def test_row_ids_look_like_new_id_and_grow_in_insert_order(tmp_path: Path) -> None:
    with _insert(tmp_path, _plan(200)) as s:
        ids = s.execute(text("select id from outputs order by rowid")).scalars().all()
        tasks = s.execute(text("select id from tasks order by rowid")).scalars().all()
        batches = s.execute(text("select id from batches order by rowid")).scalars().all()
    for group in (ids, tasks, batches):
        assert all(len(i) == 32 and set(i) <= set("0123456789abcdef") for i in group)
    every = batches + tasks + ids
    assert len(set(every)) == len(every) == 3 + 400 + 600  # 200 sources x 3, 2 per task
    assert ids == sorted(ids) and tasks == sorted(tasks)
