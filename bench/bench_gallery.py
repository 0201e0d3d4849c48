"""Gallery: a finished job of 5,000 outputs opened in Chromium (Debian's, through
Playwright) from a real `bananabatch serve` on 127.0.0.1, measured in one run:

- time from navigation to the first thumbnail painted (target < 500 ms);
- the most DOM nodes and the JS heap while scrolling to the end (virtualised list);
- a full scroll to the end, driven in the page by events (one screen down as soon as
  the screen's thumbnails are in), against fetching the same thumbnails directly from
  the page, 6 at a time like a browser's connections to one host (target ≤ 1.1x);
  a screen counts as seen when every tile on it shows its image;
  both with every thumbnail already made and none in the browser's cache;
- thumbnails served per second over 8 raw HTTP/1.1 connections (bench/rawhttp.py),
  made on first request and already made (target ≥ 1,000/s).

Run: .venv/bin/python -m bench.bench_gallery [--outputs 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
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
from bench.rawhttp import get_all
from bench.server import serving

CHROMIUM = "/usr/bin/chromium"
CONNECTIONS = 8
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outputs", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        job_id = _build(root / "data", args.outputs)
        with serving(root, BANANABATCH_WEB_DIR=str(WEB_OUT)) as (_, url):
            urls: list[str] = []
            cursor = None
            with httpx.Client(base_url=url, timeout=60) as c:
                while True:
                    page = c.get(f"/api/v1/jobs/{job_id}/outputs",
                                 params={"limit": 500, **({"cursor": cursor} if cursor else {})}).json()  # fmt: skip
                    urls += [o["thumbnail_url"] for o in page["items"]]
                    cursor = page.get("next_cursor")
                    if not cursor:
                        break
            figures = _browse(url, job_id, urls)
            # Half the thumbnails as if never looked at: made on their first request.
            for thumb in (root / "data" / "store" / "outputs" / job_id / "thumbs").iterdir():
                if int(thumb.stem, 16) % 2:
                    thumb.unlink()
            cold_urls = [u for u in urls if int(u.split("/")[-2], 16) % 2]
            cold = len(cold_urls) / asyncio.run(get_all(url, cold_urls, CONNECTIONS))
            cached = len(urls) / asyncio.run(get_all(url, urls, CONNECTIONS))
    first, nodes, heap, scroll, direct = figures
    print(f"gallery of {args.outputs:,} outputs in Chromium")
    print(f"first thumbnail painted: {first:.0f} ms (target < 500)")
    print(f"most DOM nodes while scrolling: {nodes:,}; JS heap {heap:.0f} MB")
    print(f"full scroll: {scroll:.2f} s; the same thumbnails fetched directly: {direct:.2f} s; "
          f"ratio {scroll / direct:.2f}x (target <= 1.1x)")  # fmt: skip
    print(f"thumbnails served over {CONNECTIONS} connections: {cold:.0f}/s made on first "
          f"request, {cached:.0f}/s already made (target >= 1,000/s)")  # fmt: skip


def _warm(url: str, urls: list[str]) -> None:
    """Every thumbnail made, from outside the browser (its cache stays empty)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, get_all(url, urls, CONNECTIONS)).result()


def _browse(url: str, job_id: str, urls: list[str]) -> tuple[float, int, float, float, float]:
    """First thumbnail painted (cold, as a user first meets a finished job); then, with
    every thumbnail made on the server and none in the browser's cache, the same
    thumbnails fetched directly from the page (under other URLs) and a full scroll."""
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
        _warm(url, urls)
        direct = page.evaluate(
            """async (urls) => { const t0 = performance.now(); let i = 0;
               async function w() { while (i < urls.length) { const u = urls[i++];
                 await (await fetch(u + '&direct=1')).arrayBuffer(); } }
               await Promise.all([w(), w(), w(), w(), w(), w()]); return (performance.now() - t0) / 1000; }""",
            urls,
        )  # fmt: skip
        # The scroll runs in the page, driven by events, not paced from here: one
        # screen down as soon as every tile on the screen shows its image (the rows the
        # list renders ahead load meanwhile, as they do for a user), until the end.
        scrolled = page.evaluate(
            """async () => {
               const t0 = performance.now(); const seen = new Set(); let nodes = 0; let waited = 0;
               const tiles = () => [...document.querySelectorAll('[data-tile] img')];
               const onScreen = () => tiles().filter(i => { const r = i.getBoundingClientRect();
                 return r.bottom > 0 && r.top < window.innerHeight; });
               const frame = () => new Promise(r => requestAnimationFrame(() => r()));
               let step = 0;
               for (; step < 100000; step++) {
                 const w0 = performance.now();
                 while (!onScreen().every(i => i.complete)) await frame();
                 waited += performance.now() - w0;
                 tiles().forEach(i => i.complete && i.naturalWidth && seen.add(i.src));
                 nodes = Math.max(nodes, document.getElementsByTagName('*').length);
                 if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 2) break;
                 window.scrollBy(0, window.innerHeight);
                 await frame();  // the virtual list renders the new rows
               }
               return [(performance.now() - t0) / 1000, nodes, [...seen], step, waited / 1000]; }"""
        )  # fmt: skip
        scroll, nodes, seen = float(scrolled[0]), int(scrolled[1]), list(scrolled[2])
        print(f"scrolled {len(seen)} thumbnails in {int(scrolled[3])} screens, "
              f"{float(scrolled[4]):.2f} s of it waiting for thumbnails on screen")  # fmt: skip
        heap = (
            page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0") / 1e6
        )
        if len(seen) < len(urls):
            raise RuntimeError(f"the scroll showed {len(seen)} of {len(urls)} thumbnails")
        browser.close()
        return first, nodes, heap, scroll, float(direct)


if __name__ == "__main__":
    main()
