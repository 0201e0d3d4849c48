"""Browser end-to-end fixtures: a real `bananabatch serve` subprocess serving the
built web UI (web/out), and Debian's chromium driven by Playwright.

The server runs the classic provider (offline, no key) with the local executor,
on 127.0.0.1 and a free port, with its data in a temporary directory. It is
started once per session (a second one with a password for the login test, a
third on the Gemini provider against the fake Gemini server in this process) and
killed at teardown. Every wait is bounded. Screenshots land in
test-artifacts/screenshots/ (gitignored) for people to look at.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.fakes.gemini_server import FakeGeminiServer
from tests.fakes.runpod_server import FakeRunPodServer
from tests.procs import die_with_parent

REPO = Path(__file__).resolve().parents[2]
WEB_OUT = REPO / "web" / "out"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 60.0
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    log_path: Path
    password: str | None = None
    gemini: FakeGeminiServer | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    runpod: FakeRunPodServer | None = field(default=None, repr=False)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        assert server.proc is not None
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"bananabatch serve exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/api/v1/health", timeout=2) as r:
                body = json.loads(r.read())
                if body.get("ok") and body["executor"]["orchestrator_running"]:
                    return
                last = json.dumps(body)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise RuntimeError(
        f"server not healthy after {STARTUP_TIMEOUT_S}s ({last}):\n{server.log_tail()}"
    )


def _start_server(
    root: Path,
    password: str | None = None,
    *,
    gemini: FakeGeminiServer | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Server:
    """Start `bananabatch serve`: classic, or Gemini against `gemini` when given."""
    if not (WEB_OUT / "index.html").is_file():
        raise RuntimeError("web/out is not built: run `make web` (make test-e2e does it).")
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = Server(
        url=f"http://127.0.0.1:{port}",
        data_dir=root / "data",
        log_path=root / "server.log",
        password=password,
        gemini=gemini,
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BANANABATCH_", "GEMINI_", "GOOGLE_", "RUNPOD_"))
    }
    env.update(
        BANANABATCH_DATA_DIR=str(server.data_dir),
        BANANABATCH_PROVIDER="classic",
        BANANABATCH_EXECUTOR="local",
        BANANABATCH_WEB_DIR=str(WEB_OUT),
        BANANABATCH_HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    if password:
        env["BANANABATCH_PASSWORD"] = password
    if gemini is not None:
        env.update(
            BANANABATCH_PROVIDER="gemini",
            GEMINI_API_KEY="test-key",
            BANANABATCH_GEMINI_BASE_URL=gemini.base_url,
        )
    env.update(extra_env or {})
    log = server.log_path.open("wb")
    server.proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bananabatch.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=root,  # no stray .env from the checkout is read
        preexec_fn=die_with_parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        _wait_healthy(server)
    except BaseException:
        _stop_server(server)
        raise
    return server


def _stop_server(server: Server) -> None:
    proc = server.proc
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = _start_server(tmp_path_factory.mktemp("bb-e2e"))
    yield srv
    _stop_server(srv)


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = _start_server(tmp_path_factory.mktemp("bb-e2e-auth"), password="banana-split-42")
    yield srv
    _stop_server(srv)


@pytest.fixture(scope="session")
def gemini_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Gemini provider against a fake Gemini on 127.0.0.1 (prompt markers inject faults).

    One dispatch per output (an output fails at once when its dispatch fails) and
    short orchestrator backoff, so failures show up quickly. The worker still
    retries a 5xx twice inside one dispatch (about 1 s + 2 s).
    """
    with FakeGeminiServer(expected_api_key="test-key") as fake:
        srv = _start_server(
            tmp_path_factory.mktemp("bb-e2e-gemini"),
            gemini=fake,
            extra_env={
                "BANANABATCH_MAX_ATTEMPTS": "1",
                "BANANABATCH_RETRY_BASE_SECONDS": "0.2",
                # Batch API jobs: pack quickly, ask often (production waits minutes)
                "BANANABATCH_BATCH_GATHER_SECONDS": "0.3",
                "BANANABATCH_BATCH_POLL_SECONDS": "0.2",
            },
        )
        yield srv
        _stop_server(srv)


@pytest.fixture(scope="session")
def runpod_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Generation on a (fake) RunPod endpoint: only the three RunPod variables are set;
    the fake cloud runs the real worker handler (classic provider) in this process."""
    with FakeRunPodServer(workers=2, jobs_per_worker=4) as fake:
        srv = _start_server(
            tmp_path_factory.mktemp("bb-e2e-runpod"),
            extra_env={
                "BANANABATCH_EXECUTOR": "auto",
                "RUNPOD_API_KEY": fake.api_key,
                "RUNPOD_ENDPOINT_ID": fake.endpoint_id,
                "BANANABATCH_RUNPOD_API_URL": fake.api_url,
            },
        )
        srv.runpod = fake
        yield srv
        _stop_server(srv)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: run `make chromium` (Debian's chromium package).")
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dir() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    # CI shares two cores with the server and its workers: allow slow clicks there.
    ctx.set_default_timeout(45_000 if os.environ.get("CI") else 20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any uncaught exception in the app."""
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    assert not errors, f"uncaught errors in the web UI: {errors}"


def _wait_for_images(page: Page) -> None:
    # A slow thumbnail must not fail the test: the screenshot is for people.
    with contextlib.suppress(PlaywrightError):
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=10_000)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save test-artifacts/screenshots/<name>.png once images have loaded.

    A full page is taken by growing the viewport to the document height (capped),
    so sticky sidebars and panels sit where a user sees them.
    """
    path = SCREENSHOTS / f"{name}.png"
    _wait_for_images(page)
    if not full_page:
        page.screenshot(path=str(path))
        return path
    size = page.viewport_size or VIEWPORT
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size(
        {"width": size["width"], "height": max(size["height"], min(height, 5000))}
    )
    page.wait_for_timeout(300)
    _wait_for_images(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
