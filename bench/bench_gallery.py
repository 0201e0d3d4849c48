"""Gallery: a finished job of 5,000 outputs opened in Chromium (Debian's, through
Playwright) from a real `bananabatch serve` on 127.0.0.1, measured in one run:

- time from navigation to the first thumbnail painted (target < 500 ms);
- the most DOM nodes and the JS heap while scrolling to the end (virtualised list);
- a full scroll to the end against fetching the same thumbnails directly from the
  page with the same concurrency (target ≤ 1.1x);
- thumbnails served per second, cold (made on first request) and cached (target
  ≥ 1,000/s), by 8 concurrent httpx clients.

Run: .venv/bin/python -m bench.bench_gallery [--outputs 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import sync_playwright

from bananabatch.db.migrate import upgrade
from bananabatch.db.models import Asset, Batch, Job, Output, Task, new_id
from bananabatch.db.session import make_engine, make_session_factory
from bananabatch.storage.keys import asset_key, output_key
from bananabatch.storage.local import LocalStorage
from bench.server import serving

CHROMIUM = "/usr/bin/chromium"
WEB_OUT = Path(__file__).resolve().parent.parent / "web" / "out"


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (96, 72), (i % 251, (i * 7) % 251, (i * 13) % 251)).save(buf, "PNG")
    return buf.getvalue()


def _build(data: Path, outputs: int) -> str:
    url = f"sqlite:///{data / 'bananabatch.db'}"
    data.mkdir(parents=True)
    upgrade(url)
    engine = make_engine(url)
    store = LocalStorage(data / "store")
    with make_session_factory(engine)() as s:
        job = Job(mode="automatic", name="gallery", provider="classic", model="classic",
                  status="completed", total_outputs=outputs, total_tasks=outputs // 4)  # fmt: skip
        s.add(job)
        s.flush()
        batch = Batch(job_id=job.id, position=0, name="cat", slug="cat", count=outputs)
        s.add(batch)
        s.flush()
        for src in range(outputs // 4):
            sha = f"{src:064x}"
            store.put_bytes(asset_key(sha, "png"), _png(src))
            s.add(Asset(id=sha, mime_type="image/png", format="PNG", width=96, height=72,
                        size_bytes=1, storage_key=asset_key(sha, "png")))  # fmt: skip
            task = Task(job_id=job.id, batch_id=batch.id, position=src, source_asset_id=sha,
                        source_path=f"cat/{src:05d}.png", status="done")  # fmt: skip
            s.add(task)
            s.flush()
            for v in range(1, 5):
                oid = new_id()
                key = output_key(job.id, oid, "png")
                store.put_bytes(key, _png(src * 4 + v))
                s.add(Output(id=oid, job_id=job.id, batch_id=batch.id, task_id=task.id,
                             position=src * 4 + v - 1, run_index=src, variation=v,
                             source_asset_id=sha, source_path=f"cat/{src:05d}.png",
                             archive_path=f"cat/{src:05d}__v{v}.png", prompt=f"cat {v}",
                             model="classic", seed=v, status="succeeded", storage_key=key,
                             mime_type="image/png", width=96, height=72))  # fmt: skip
        s.commit()
        job_id = job.id
    engine.dispose()
    return job_id


async def _thumbs_per_second(url: str, ids: list[str]) -> float:
    queue = list(ids)
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:

        async def worker() -> None:
            while queue:
                oid = queue.pop()
                (await c.get(f"/api/v1/outputs/{oid}/thumbnail")).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(8)))
        return len(ids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outputs", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        job_id = _build(root / "data", args.outputs)
        with serving(root, BANANABATCH_WEB_DIR=str(WEB_OUT)) as (_, url):
            figures = _browse(url, job_id)
            ids: list[str] = []
            cursor = None
            with httpx.Client(base_url=url, timeout=60) as c:
                while True:
                    page = c.get(f"/api/v1/jobs/{job_id}/outputs",
                                 params={"limit": 500, **({"cursor": cursor} if cursor else {})}).json()  # fmt: skip
                    ids += [o["id"] for o in page["items"]]
                    cursor = page.get("next_cursor")
                    if not cursor:
                        break
            cold_ids = ids[len(ids) // 2 :]  # the browser made the first half's
            cold = asyncio.run(_thumbs_per_second(url, cold_ids))
            cached = asyncio.run(_thumbs_per_second(url, ids))
    first, nodes, heap, scroll, direct = figures
    print(f"gallery of {args.outputs:,} outputs in Chromium")
    print(f"first thumbnail painted: {first:.0f} ms (target < 500)")
    print(f"most DOM nodes while scrolling: {nodes:,}; JS heap {heap:.0f} MB")
    print(f"full scroll: {scroll:.2f} s; the same thumbnails fetched directly: {direct:.2f} s; "
          f"ratio {scroll / direct:.2f}x (target <= 1.1x)")  # fmt: skip
    print(f"thumbnails served: {cold:.0f}/s made on first request, {cached:.0f}/s cached "
          "(target >= 1,000/s)")  # fmt: skip


def _browse(url: str, job_id: str) -> tuple[float, int, float, float, float]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--enable-precise-memory-info"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        started = time.perf_counter()
        page.goto(f"{url}/jobs/view/?id={job_id}")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-tile] img')].some(i => i.complete && i.naturalWidth > 0)",
            timeout=60_000,
        )  # fmt: skip
        first = (time.perf_counter() - started) * 1000
        nodes = 0
        scroll_start = time.perf_counter()
        seen: set[str] = set()
        for _ in range(2000):
            page.mouse.wheel(0, 1600)
            page.wait_for_timeout(30)
            nodes = max(nodes, page.evaluate("document.getElementsByTagName('*').length"))
            done = page.evaluate(
                "() => { const imgs = [...document.querySelectorAll('[data-tile] img')];"
                " imgs.forEach(i => i.complete && i.naturalWidth && window.__seen.add(i.src));"
                " return window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"
                " && imgs.every(i => i.complete); }"
                if page.evaluate("() => { window.__seen = window.__seen || new Set(); return true; }")
                else "() => false"
            )  # fmt: skip
            if done:
                break
        scroll = time.perf_counter() - scroll_start
        seen = set(page.evaluate("() => [...window.__seen]"))
        heap = (
            page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0") / 1e6
        )
        urls = sorted(seen)
        direct = page.evaluate(
            """async (urls) => { const t0 = performance.now(); let i = 0;
               async function w() { while (i < urls.length) { const u = urls[i++];
                 await (await fetch(u + (u.includes('?') ? '&' : '?') + 'direct=1')).arrayBuffer(); } }
               await Promise.all([w(), w(), w(), w(), w(), w()]); return (performance.now() - t0) / 1000; }""",
            urls,
        )  # fmt: skip
        browser.close()
        return first, nodes, heap, scroll, float(direct)


if __name__ == "__main__":
    main()
