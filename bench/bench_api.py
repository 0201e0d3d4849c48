"""API under load: 50 clients polling a job's detail and its first outputs page the
way the web UI does (If-None-Match with the last ETag), first while the job generates
2,000 outputs (500 images x 4, offline classic provider, same machine), then idle.

A real `bananabatch serve` on 127.0.0.1 in a child process; the pollers are 50
keep-alive connections in this process, each asking as soon as it has its answer.
By default they speak HTTP/1.1 over asyncio streams (a few microseconds per request,
so the figure is the server's, not the load generator's); `--client httpx` uses
httpx AsyncClients instead (about 1 ms of client CPU per request: on these 2 shared
cores the pollers then measure mostly themselves). Figures: p50 / p95 / p99 latency
and requests per second in each phase, beside the targets (p95 < 150 ms under load,
< 50 ms idle, throughput 5x the 134 requests/s measured before issue 11), and the
server's CPU per request.

Run: .venv/bin/python -m bench.bench_api [--clients 50] [--seconds 10] [--client raw|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bench.rawhttp import raw_get
from bench.server import serving

BEFORE_IDLE_RPS = 134.0
DONE = (
    "completed",
    "completed_with_errors",
    "failed",
    "cancelled",
)  # issue 11: 50 pollers on main 521f8df, idle


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


@dataclass
class Polled:
    """One style of polling over one phase (possibly several slices)."""

    latencies: list[float] = field(default_factory=list)
    full: int = 0  # 200 answers (the rest are 304)
    seconds: float = 0.0
    cpu: float = 0.0
    lag: list[float] = field(default_factory=list)  # the pollers' own event-loop delay


async def _poll_raw(
    url: str,
    job_id: str,
    seconds: float,
    clients: int,
    style: str,
    into: Polled,
    mark: Callable[[], None],
    while_running: bool = False,
) -> None:
    """Every client polls on its own connection, with ETags, as soon as it has its answer.
    "page" (the UI before): the job and the first outputs page; "since" (the UI now):
    the job and the outputs changed since its last look, after loading the pages once.
    The clock (and the server's CPU count) starts when every client is ready to poll:
    50 first loads of 500 outputs are not polls. With `while_running` a client stops
    as soon as the job it polls has finished (only polls during generation count)."""
    barrier = asyncio.Barrier(clients)
    started = asyncio.Event()
    stop = [0.0]
    host = url.removeprefix("http://")
    address, port = host.rsplit(":", 1)
    job = f"/api/v1/jobs/{job_id}"

    async def one() -> None:
        reader, writer = await asyncio.open_connection(address, int(port))
        tags: dict[str, str | None] = {}
        since = None
        if style == "since":  # the gallery's first load, not timed
            _, _, body = await raw_get(reader, writer, host, f"{job}/outputs?limit=500", None)
            since = json.loads(body)["changes_cursor"]
            # Waiting for the slowest first load can outlast the server's keep-alive
            # (5 s): poll on a fresh connection, as a browser would reconnect.
            await barrier.wait()
            writer.close()
            reader, writer = await asyncio.open_connection(address, int(port))
        if await barrier.wait() == 0:
            mark()
            stop[0] = time.monotonic() + seconds
            started.set()
        await started.wait()
        try:
            while time.monotonic() < stop[0]:
                outputs = (
                    f"{job}/outputs?limit=100"
                    if since is None
                    else f"{job}/outputs?since={since}&limit=500"
                )
                for path in (job, outputs):
                    t0 = time.perf_counter()
                    status, etag, body = await raw_get(reader, writer, host, path, tags.get(path))
                    into.latencies.append(time.perf_counter() - t0)
                    tags[path] = etag
                    if status == 200:
                        into.full += 1
                        if while_running and path == job and json.loads(body)["status"] in DONE:
                            return
                        if since is not None and path == outputs:
                            since = json.loads(body)["changes_cursor"]
        finally:
            writer.close()

    async def lag() -> None:
        """How late this process's event loop wakes a 2 ms timer while the pollers run:
        a poll's latency includes this delay, which is the load generator's, not the
        server's."""
        await started.wait()
        while time.monotonic() < stop[0]:
            t0 = time.perf_counter()
            await asyncio.sleep(0.002)
            into.lag.append(time.perf_counter() - t0 - 0.002)

    await asyncio.gather(lag(), *(one() for _ in range(clients)))


Run = Callable[[Polled, Callable[[], None]], Coroutine[Any, Any, None]]


def _measured(pid: int, run: Run, into: Polled) -> None:
    """Time and server CPU from when `run` calls its mark (else from the start)."""
    start = [_cpu_seconds(pid), time.monotonic()]

    def mark() -> None:
        start[:] = [_cpu_seconds(pid), time.monotonic()]

    asyncio.run(run(into, mark))
    into.cpu += _cpu_seconds(pid) - start[0]
    into.seconds += time.monotonic() - start[1]


async def _poll_httpx(url: str, job_id: str, seconds: float, clients: int, into: Polled) -> None:
    """Every client polls detail then outputs, as fast as answers come, with ETags."""
    latencies = into.latencies
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
                    into.full += r.status_code == 200
                    if "etag" in r.headers:
                        tags[path] = r.headers["etag"]

        await asyncio.gather(*(one() for _ in range(clients)))


def _row(name: str, polled: Polled, target_ms: float) -> str:
    lat = polled.latencies
    q = statistics.quantiles(lat, n=100)
    p50, p95, p99 = q[49] * 1000, q[94] * 1000, q[98] * 1000
    rps = len(lat) / polled.seconds
    verdict = "met" if p95 < target_ms else "NOT met"
    return (
        f"{name:<22} p50 {p50:7.1f}  p95 {p95:7.1f} ms (target < {target_ms:.0f}: "
        f"{p95 / target_ms:5.2f}x, {verdict})  p99 {p99:7.1f}  {rps:6.0f} req/s "
        f"({rps / BEFORE_IDLE_RPS:5.1f}x the 134 before, target 5x)  "
        f"{100 * polled.full / len(lat):3.0f}% full answers  "
        f"server CPU {1000 * polled.cpu / len(lat):.2f} ms/request"
        + (
            f"  pollers' own loop delay p95 {1000 * statistics.quantiles(polled.lag, n=100)[94]:.1f}"
            f" max {1000 * max(polled.lag):.0f} ms"
            if len(polled.lag) > 1
            else ""
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0, help="per style and phase")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="httpx: the old load generator (page style only), limited by its own CPU",
    )
    args = parser.parse_args()
    styles = ("page", "since") if args.client == "raw" else ("page",)
    slices = 4  # generating: the styles take turns, so both see the job at every stage
    results: dict[tuple[str, str], Polled] = {
        (phase, style): Polled() for phase in ("generating", "idle") for style in styles
    }

    def runner(style: str, seconds: float, job_id: str, url: str, running: bool) -> Any:
        if args.client == "httpx":
            return lambda into, _mark: _poll_httpx(url, job_id, seconds, args.clients, into)
        return lambda into, mark: _poll_raw(
            url, job_id, seconds, args.clients, style, into, mark, running
        )

    with tempfile.TemporaryDirectory() as tmp, serving(Path(tmp)) as (proc, url):
        job_id = _job(url, args.images, 4)
        for _ in range(slices):
            for style in styles:
                run = runner(style, args.seconds / slices, job_id, url, True)
                _measured(proc.pid, run, results["generating", style])
        with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as c:
            progress = c.get(f"/jobs/{job_id}").json()
            generating_left = progress["progress"]
            while progress["status"] not in ("completed", "completed_with_errors", "failed"):
                time.sleep(0.5)
                progress = c.get(f"/jobs/{job_id}").json()
        for style in styles:
            run = runner(style, args.seconds, job_id, url, False)
            _measured(proc.pid, run, results["idle", style])
    print(
        f"{args.clients} {args.client} clients polling a {args.images * 4:,}-output job "
        f"with If-None-Match (progress {generating_left:.0%} when the generating phase ended)"
    )
    print("  page: job + first outputs page (the UI before); since: job + changed outputs (now)")
    for (phase, style), polled in results.items():
        print(_row(f"{phase} / {style}", polled, 150 if phase == "generating" else 50))
    print(
        "(the pollers share the machine's 2 cores with the server; server CPU per request "
        "is the API process's own cost; the jobs run in its child process.)"
    )


if __name__ == "__main__":
    main()
