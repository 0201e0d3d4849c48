"""The fake Gemini server's entry points: pytest fixtures (this module is a pytest
plugin, see tests/conftest.py) and a command line for manual runs:
`python -m tests.fakes.gemini_server --port 8765`.

The server itself lives in the `tests.fakes.gemini` package and is re-exported here,
so `from tests.fakes.gemini_server import FakeGeminiServer, Fault` keeps working.
Real HTTP on 127.0.0.1; the real `google-genai` client reaches it through
`HttpOptions(base_url=...)`. Test infrastructure only, never a product path.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.fakes.gemini import (
    API_VERSIONS,
    DEFAULT_MODELS,
    MARKERS,
    BatchControls,
    FakeGeminiServer,
    Fault,
    RecordedRequest,
    Script,
    decode_base64,
    faults_from_markers,
    model_resource,
)

__all__ = [
    "API_VERSIONS",
    "DEFAULT_MODELS",
    "MARKERS",
    "BatchControls",
    "FakeGeminiServer",
    "Fault",
    "RecordedRequest",
    "Script",
    "decode_base64",
    "faults_from_markers",
    "gemini_env",
    "gemini_fake",
    "main",
    "model_resource",
]

log = logging.getLogger("fake_gemini")


@pytest.fixture
def gemini_fake() -> Iterator[FakeGeminiServer]:
    """A running fake Gemini server, stopped after the test."""
    with FakeGeminiServer(default_retry_delay="0.05s") as server:
        yield server


@pytest.fixture
def gemini_env(gemini_fake: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> FakeGeminiServer:
    """Points GEMINI_API_KEY / BANANABATCH_GEMINI_BASE_URL at the fake (subprocesses too)."""
    monkeypatch.setenv("GEMINI_API_KEY", "fake-gemini-key")
    monkeypatch.setenv("BANANABATCH_GEMINI_BASE_URL", gemini_fake.base_url)
    return gemini_fake


# ---------------------------------------------------------------- command ----


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake Gemini REST server for manual runs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    parser.add_argument("--retry-delay", default="1s", help="RetryInfo delay for [[429xK]]")
    parser.add_argument("--api-key", default=None, help="reject other keys with 400")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help="comma-separated model ids GET models/{id} finds (others: 404)",
    )
    parser.add_argument(
        "--batch-complete-after",
        type=float,
        default=0.0,
        help="seconds a Batch API job waits before a batches.get runs it",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = FakeGeminiServer(
        host=args.host,
        port=args.port,
        latency=args.latency,
        default_retry_delay=args.retry_delay,
        expected_api_key=args.api_key,
        available_models=[m.strip() for m in args.models.split(",") if m.strip()],
    )
    server.batch_controls.complete_after = timedelta(seconds=args.batch_complete_after)
    with server:
        log.info(
            "set BANANABATCH_GEMINI_BASE_URL=%s and any GEMINI_API_KEY; Ctrl-C stops",
            server.base_url,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    log.info("fake Gemini stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
