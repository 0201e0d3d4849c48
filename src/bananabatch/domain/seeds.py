"""Stable seed derivation.

Python's `hash()` is salted per process, so it cannot make a run reproducible.
Every seed in a job is derived from the job seed with sha256 instead: the same
job spec and seed give the same per-output seeds (and wildcard choices) on any
machine, in any process, in any Python version.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from json.encoder import encode_basestring

_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode
"""`json.dumps` with these options, without building an encoder per call (a 100,000-
output plan derives 200,000 seeds)."""
SEED_LIMIT = 2**31
"""Seeds stay below 2**31 so they fit a signed 32-bit column and every provider API."""


def json_part(value: object) -> str:
    """`value` as it appears inside the JSON list `derive_seed` hashes. Ints and strings
    (every part a plan uses) are written directly, byte for byte what the encoder
    writes; anything else goes through the encoder."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value)  # type: ignore[arg-type]
    if kind is str:
        return encode_basestring(value)  # type: ignore[arg-type]
    return _ENCODE(value)


def derive_seed(job_seed: int, *parts: object) -> int:
    """A seed in [0, 2**31) determined only by `job_seed` and `parts`.

    Parts are serialised as JSON, so `1` and `"1"` give different seeds; objects
    JSON cannot encode fall back to `str()`.
    """
    return seed_of_json(", ".join([json_part(job_seed), *map(json_part, parts)]))


def seed_of_json(items: str) -> int:
    """The seed of a JSON list given by its items, already encoded (`json_part`, joined
    by ", "): a planner encodes a source's path once for all its outputs."""
    digest = hashlib.sha256(f"[{items}]".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT


def new_job_seed() -> int:
    """A fresh random job seed, for a job created without one."""
    return secrets.randbelow(SEED_LIMIT)
