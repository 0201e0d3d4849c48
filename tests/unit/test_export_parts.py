"""Part planning: greedy, groups kept whole when possible, every entry exactly once."""

from __future__ import annotations

import pytest

from bananabatch.errors import ValidationFailed
from bananabatch.export.archive import ExportEntry
from bananabatch.export.parts import entry_bytes, plan_parts, split_parts

KB = 1024


def _entry(group: str, name: str, size: int | None) -> ExportEntry:
    return ExportEntry("original", group, name, f"key/{name}", size, None)


def _groups(sizes: list[list[int]]) -> list[ExportEntry]:
    return [
        _entry(f"g{g}", f"g{g}/{i}.png", size)
        for g, group in enumerate(sizes)
        for i, size in enumerate(group)
    ]


def _group_parts(parts: list[list[ExportEntry]]) -> dict[str, set[int]]:
    where: dict[str, set[int]] = {}
    for n, part in enumerate(parts):
        for e in part:
            where.setdefault(e.group, set()).add(n)
    return where


def test_everything_fits_in_one_part() -> None:
    entries = _groups([[10 * KB] * 3] * 4)
    parts = split_parts(entries, 10 * 1024 * KB)
    assert parts == [entries]
    [summary] = plan_parts(entries, 10 * 1024 * KB)
    assert (summary.part, summary.entries, summary.files) == (1, 12, 12)
    assert summary.approx_bytes > 120 * KB


def test_groups_are_never_split_when_they_fit() -> None:
    entries = _groups([[30 * KB] * 3 for _ in range(10)])  # 90 KB groups
    parts = split_parts(entries, 200 * KB)
    assert len(parts) == 5  # two groups per part
    assert all(len(where) == 1 for where in _group_parts(parts).values())
    flat = [e for p in parts for e in p]
    assert flat == entries  # each exactly once, order kept
    for p in plan_parts(entries, 200 * KB):
        assert p.approx_bytes <= 200 * KB


def test_greedy_starts_a_new_part_when_the_next_group_does_not_fit() -> None:
    entries = _groups([[60 * KB], [60 * KB], [100 * KB], [10 * KB]])
    parts = split_parts(entries, 150 * KB)
    assert [[e.group for e in p] for p in parts] == [["g0", "g1"], ["g2", "g3"]]


def test_an_oversized_group_is_cut_but_nothing_is_lost() -> None:
    entries = _groups([[10 * KB], [80 * KB] * 5, [10 * KB]])
    parts = split_parts(entries, 200 * KB)
    where = _group_parts(parts)
    assert len(where["g1"]) > 1  # had to be cut: 400 KB > 200 KB
    assert [e for p in parts for e in p] == entries
    assert all(sum(entry_bytes(e) for e in p) <= 200 * KB for p in parts)


def test_a_single_file_larger_than_a_part_gets_a_part_of_its_own() -> None:
    entries = _groups([[10 * KB], [500 * KB], [10 * KB]])
    parts = split_parts(entries, 100 * KB)
    assert [[e.group for e in p] for p in parts] == [["g0"], ["g1"], ["g2"]]


def test_unknown_sizes_are_estimated_not_ignored() -> None:
    known = plan_parts([_entry("g", "a.png", 1024 * KB)], 1 << 40)[0].approx_bytes
    unknown = plan_parts([_entry("g", "a.png", None)], 1 << 40)[0].approx_bytes
    assert unknown >= known  # 1 MiB default guess without dimensions


def test_empty_export_is_one_empty_part() -> None:
    assert split_parts([], 100) == [[]]
    [part] = plan_parts([], 100)
    assert (part.part, part.entries, part.files, part.outputs) == (1, 0, 0, 0)


@pytest.mark.parametrize("bad", [0, -5])
def test_part_size_must_be_positive(bad: int) -> None:
    with pytest.raises(ValidationFailed, match="part size"):
        plan_parts(_groups([[1]]), bad)
