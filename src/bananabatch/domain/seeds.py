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

_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode
"""`json.dumps` with these options, without building an encoder per call (a 100,000-
output plan derives 200,000 seeds)."""
SEED_LIMIT = 2**31
"""Seeds stay below 2**31 so they fit a signed 32-bit column and every provider API."""


def derive_seed(job_seed: int, *parts: object) -> int:
    """A seed in [0, 2**31) determined only by `job_seed` and `parts`.

    Parts are serialised as JSON, so `1` and `"1"` give different seeds; objects
    JSON cannot encode fall back to `str()`.
    """
    material = _ENCODE([job_seed, *parts])
    digest = hashlib.sha256(material.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT


def new_job_seed() -> int:
    """A fresh random job seed, for a job created without one."""
    return secrets.randbelow(SEED_LIMIT)
