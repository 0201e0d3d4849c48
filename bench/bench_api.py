"""API under load: 50 clients polling a job's detail and its first outputs page the
way the web UI does (If-None-Match with the last ETag), first while the job generates
2,000 outputs (500 images x 4, offline classic provider, same machine), then idle.

A real `bananabatch serve` on 127.0.0.1 in a child process; the pollers are asyncio
httpx clients in this process. Figures: p50 / p95 / p99 latency and requests per
second in each phase, beside the targets (p95 < 150 ms under load, < 50 ms idle,
throughput 5x the 134 requests/s measured before issue 11).

Run: .venv/bin/python -m bench.bench_api [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from bench.server import serving

BEFORE_IDLE_RPS = 134.0  # issue 11: 50 pollers on main 521f8df, idle


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (96, 72), (i % 255, (i * 7) % 255, (i * 13) % 255)).save(buf, "PNG")
    return buf.getvalue()


def _job(url: str, images: int, variations: int) -> str:
    with httpx.Client(base_url=f"{url}/api/v1", timeout=60) as c:
        ds = c.post("/datasets", json={"name": "load"}).json()["id"]
        for start in range(0, images, 100):
            files = [
                ("files", (f"class{i % 4}/{i:05d}.png", _png(i), "image/png"))
                for i in range(start, min(start + 100, images))
            ]
            c.post(f"/datasets/{ds}/files", files=files).raise_for_status()
        job = c.post(
            "/jobs",
            json={
                "mode": "automatic",
                "dataset_id": ds,
                "prompt": "{fog|snow|rain} {class}",
                "variations": variations,
                "model": "classic",
            },
        )
        job.raise_for_status()
        return str(job.json()["id"])


async def _poll(url: str, job_id: str, seconds: float, clients: int) -> list[float]:
    """Every client polls detail then outputs, as fast as answers come, with ETags."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=30, limits=limits) as c:

        async def one() -> None:
            tags: dict[str, str] = {}
            paths = (f"/jobs/{job_id}", f"/jobs/{job_id}/outputs?limit=100")
            while time.monotonic() < stop:
                for path in paths:
                    headers = {"If-None-Match": tags[path]} if path in tags else {}
                    t0 = time.perf_counter()
                    r = await c.get(path, headers=headers)
                    latencies.append(time.perf_counter() - t0)
                    if "etag" in r.headers:
                        tags[path] = r.headers["etag"]

        await asyncio.gather(*(one() for _ in range(clients)))
    return latencies


def _row(name: str, lat: list[float], seconds: float, target_ms: float, cpu: float) -> str:
    q = statistics.quantiles(lat, n=100)
    p50, p95, p99 = q[49] * 1000, q[94] * 1000, q[98] * 1000
    rps = len(lat) / seconds
    return (
        f"{name:<14} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms (target < {target_ms:.0f})  "
        f"p99 {p99:7.1f} ms  {rps:7.0f} req/s ({rps / BEFORE_IDLE_RPS:.1f}x the 134 before), "
        f"server CPU {1000 * cpu / len(lat):.2f} ms/request"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--images", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serving(Path(tmp)) as (proc, url):
        job_id = _job(url, args.images, 4)
        cpu0 = _cpu_seconds(proc.pid)
        busy = asyncio.run(_poll(url, job_id, args.seconds, args.clients))
        busy_cpu = _cpu_seconds(proc.pid) - cpu0
        with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as c:
            progress = c.get(f"/jobs/{job_id}").json()
            while progress["status"] not in ("completed", "completed_with_errors", "failed"):
                time.sleep(0.5)
                progress = c.get(f"/jobs/{job_id}").json()
        cpu0 = _cpu_seconds(proc.pid)
        idle = asyncio.run(_poll(url, job_id, args.seconds, args.clients))
        idle_cpu = _cpu_seconds(proc.pid) - cpu0
    print(f"{args.clients} clients polling a {args.images * 4:,}-output job (detail + outputs)")
    print(_row("generating", busy, args.seconds, 150, busy_cpu))
    print(_row("idle", idle, args.seconds, 50, idle_cpu))
    print(
        "(the pollers are Python httpx clients sharing the same 2 cores: the latency is "
        "mostly their own queueing; server CPU per request is the server's cost. While "
        "generating, the server's CPU also makes the images with the classic provider.)"
    )


if __name__ == "__main__":
    main()
