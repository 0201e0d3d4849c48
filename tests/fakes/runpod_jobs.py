"""The jobs of the fake RunPod cloud (`runpod_cloud.py`): what one job is, what /status
says about it, what a /run body must look like, and the worker handler it runs.

Test infrastructure only.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
WORKER_HANDLER = Path(__file__).resolve().parents[2] / "worker" / "handler.py"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})


def load_worker_handler(path: Path = WORKER_HANDLER) -> ModuleType:
    """A fresh copy of worker/handler.py (its provider pool reads the env now)."""
    spec = importlib.util.spec_from_file_location(f"bananabatch_worker_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the worker handler from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeJob:
    """One job as the cloud keeps it. Times are time.monotonic() seconds."""

    id: str
    input: Any
    execution_timeout: float
    ttl: float | None
    retention: float
    webhook: str | None = None
    created: float = field(default_factory=time.monotonic)
    queued: float = field(default_factory=time.monotonic)
    status: str = "IN_QUEUE"
    started: float | None = None
    finished: float | None = None
    worker_id: str | None = None
    output: Any = None
    has_output: bool = False
    error: str | None = None
    runs: int = 0
    task: asyncio.Task[None] | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def status_body(self) -> dict[str, Any]:
        """What GET /status answers (and what a webhook receives)."""
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        now = time.monotonic()
        if self.started is not None:
            body["delayTime"] = round((self.started - self.queued) * 1000)
            body["workerId"] = self.worker_id
        if self.status in TERMINAL and self.started is not None:
            body["executionTime"] = round(((self.finished or now) - self.started) * 1000)
        if self.has_output:
            body["output"] = self.output
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class Webhook:
    """One completion webhook: where, what, how many tries, and whether one got a 2xx."""

    url: str
    body: dict[str, Any]
    attempts: int
    delivered: bool


def check_submit_body(body: Any) -> str | None:
    """Why a /run or /runsync body is refused (400), or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if "input" not in body:
        return "input is required"
    policy = body.get("policy")
    if policy is not None:
        if not isinstance(policy, dict):
            return "policy must be an object"
        for key in ("executionTimeout", "ttl"):
            value = policy.get(key)
            if value is not None and (not isinstance(value, int) or value <= 0):
                return f"policy.{key} must be a positive number of milliseconds"
    webhook = body.get("webhook")
    if webhook is not None and not (isinstance(webhook, str) and webhook.startswith("http")):
        return "webhook must be an http(s) URL"
    return None


@dataclass(frozen=True)
class RunPodStats:
    """Counters for assertions (a snapshot)."""

    runs_received: int  # jobs accepted by /run and /runsync
    handler_invocations: int  # handler calls (faults that skip the handler do not count)
    largest_run_body_bytes: int  # biggest /run or /runsync body seen, rejected ones too
    requests: dict[str, int]  # per route: "run", "status", ... (faulted requests too)
    max_concurrent_jobs: int  # most jobs IN_PROGRESS at once
    outputs_dropped: int  # outputs over max_output_bytes (COMPLETED without output)
    retried: int
