"""Seeds are part of a job's reproducibility: the fast encoding must give exactly the
seeds of the JSON encoder it replaced, for every kind of part."""

from __future__ import annotations

import hashlib
import json

import pytest

from bananabatch.domain.seeds import SEED_LIMIT, derive_seed, json_part, seed_of_json


def _reference(job_seed: int, *parts: object) -> int:
    """The derivation as first written: json.dumps of the whole list."""
    material = json.dumps([job_seed, *parts], ensure_ascii=False, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(material.encode("utf-8")).digest()[:8], "big") % (
        SEED_LIMIT
    )


PARTS: list[object] = [
    0,
    -7,
    2**70,
    "cat/001.jpg",
    'quote " and back\\slash',
    "tab\tnew\nline\x00\x1f\u2028\x7f",
    "été/ünïcode/猫.png",
    "emoji 🐱",
    True,
    None,
    1.5,
    ["wildcard", 3],
    {"b": 1, "a": 2},
]


@pytest.mark.parametrize("part", PARTS)
def test_every_kind_of_part_gives_the_seed_it_always_gave(part: object) -> None:
    assert derive_seed(123456, part) == _reference(123456, part)
    assert derive_seed(9, "wildcard", part, 4, 0) == _reference(9, "wildcard", part, 4, 0)
    assert json_part(part) == json.dumps(part, ensure_ascii=False, sort_keys=True, default=str)


def test_a_source_encoded_once_gives_the_same_seeds() -> None:
    path = 'class3/Ünïcode "name".jpg\\'

    encoded = json_part(path)
    for variation in range(1, 5):
        expected = _reference(77, path, variation)
        assert seed_of_json(f"77, {encoded}, {variation}") == expected
        assert derive_seed(77, path, variation) == expected
