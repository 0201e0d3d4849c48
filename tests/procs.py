"""Subprocess helpers for tests: servers we start must stop by themselves."""

from __future__ import annotations

import ctypes
import os
import signal

from sqlalchemy import create_engine, text

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn`: the child gets SIGTERM when the test process dies, even by SIGKILL."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def isolated_env(**settings: str) -> dict[str, str]:
    """This process's environment without any BananaBatch, Gemini or RunPod setting
    (a developer's own keys must never reach a test's child process), plus `settings`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BANANABATCH_", "GEMINI", "GOOGLE", "RUNPOD"))
    }
    env.update(settings)
    return env


def db_count(db_url: str, sql: str) -> int:
    """A count from another process's database; 0 while it does not exist yet."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    except Exception:
        return 0
    finally:
        engine.dispose()
