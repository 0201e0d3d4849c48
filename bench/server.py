"""A real `bananabatch serve` on 127.0.0.1 for the benchmarks, in a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(root: Path, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """(process, base URL) of a server on `root / "data"`, stopped with SIGTERM after."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith(("BANANABATCH_", "GEMINI"))}
    full.update(BANANABATCH_DATA_DIR=str(root / "data"), BANANABATCH_PROVIDER="classic", **env)
    # BENCH_SERVER_LOG=FILE keeps the server's output (to see why it misbehaved)
    log_path = os.environ.get("BENCH_SERVER_LOG")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "bananabatch.cli", "serve", "--port", str(port)],
        env=full,
        cwd=root,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield proc, url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
