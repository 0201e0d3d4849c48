"""Run every benchmark in one go: `make bench`."""

from __future__ import annotations

import subprocess
import sys

BENCHES = [
    "bench.bench_engine",
    "bench.bench_orchestration",
    "bench.bench_export",
    "bench.bench_batch",
    "bench.bench_scale",
    "bench.bench_api",
    "bench.bench_ingest",
    "bench.bench_gallery",
]


def main() -> int:
    failed = 0
    for module in BENCHES:
        print(f"== {module}", flush=True)
        failed |= subprocess.call([sys.executable, "-m", module])
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
