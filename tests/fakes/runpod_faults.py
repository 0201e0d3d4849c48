"""Scripted faults for the fake RunPod cloud (`runpod_server.py`).

Two kinds, consumed in order by whatever matches first:

* `HttpFault`: what the next request(s) to an operation get instead of (or on top of)
  the normal answer: an error status (429, 5xx), a late answer, or a connection closed
  without any answer, before or after the request took effect;
* `JobFault`: what happens to the next job(s) a worker picks up: FAILED, TIMED_OUT,
  a hang until the execution timeout, extra run time, lost from the queue, an output
  replaced or dropped.

Test infrastructure only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

ROUTES = ("run", "runsync", "status", "cancel", "retry", "purge-queue", "health")

HttpFaultKind = Literal["status", "drop", "drop_after", "slow"]
JobFaultKind = Literal["fail", "timed_out", "hang", "delay", "lost", "no_output", "returns"]


@dataclass(frozen=True)
class HttpFault:
    """One scripted HTTP answer shape."""

    kind: HttpFaultKind
    status: int = 0
    body: Any = None
    retry_after: float | None = None
    seconds: float = 0.0

    @classmethod
    def error(cls, status: int, body: Any = None, *, retry_after: float | None = None) -> HttpFault:
        """Answer with this status (and a JSON body) instead of doing anything."""
        return cls("status", status=status, body=body, retry_after=retry_after)

    @classmethod
    def rate_limited(cls, retry_after: float | None = None) -> HttpFault:
        """429 Too Many Requests, as RunPod answers when an endpoint's limits are hit."""
        return cls.error(429, {"error": "Too Many Requests"}, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> HttpFault:
        return cls.error(status, {"error": "Internal Server Error"})

    @classmethod
    def drop(cls) -> HttpFault:
        """Close the connection without an answer; the request had no effect."""
        return cls("drop")

    @classmethod
    def drop_after(cls) -> HttpFault:
        """Do the request (a /run creates its job), then close without an answer."""
        return cls("drop_after")

    @classmethod
    def slow(cls, seconds: float) -> HttpFault:
        """The normal answer, `seconds` late (for client timeouts)."""
        return cls("slow", seconds=seconds)


@dataclass(frozen=True)
class JobFault:
    """What happens to one job when a worker picks it up."""

    kind: JobFaultKind
    message: str = ""
    seconds: float = 0.0
    output: Any = None

    @classmethod
    def failed(cls, message: str = "worker crashed") -> JobFault:
        """The handler raises RuntimeError(message): FAILED with the SDK's error JSON."""
        return cls("fail", message=message)

    @classmethod
    def timed_out(cls) -> JobFault:
        """TIMED_OUT as soon as a worker takes it (a worker that never reported back)."""
        return cls("timed_out")

    @classmethod
    def hang(cls) -> JobFault:
        """IN_PROGRESS until the execution timeout, a cancel or the ttl ends it."""
        return cls("hang")

    @classmethod
    def delay(cls, seconds: float) -> JobFault:
        """Runs the handler after `seconds` of extra (IN_PROGRESS) time."""
        return cls("delay", seconds=seconds)

    @classmethod
    def lost(cls) -> JobFault:
        """The job disappears when picked up: /status answers 404 (RunPod's queue "may be lost")."""
        return cls("lost")

    @classmethod
    def no_output(cls) -> JobFault:
        """Runs the handler, then COMPLETED without an `output` key."""
        return cls("no_output")

    @classmethod
    def returns(cls, output: Any) -> JobFault:
        """COMPLETED with this output instead of running the handler."""
        return cls("returns", output=output)


@dataclass
class _Rule:
    fault: HttpFault | JobFault
    key: str | None  # route for HTTP faults, task_id for job faults
    remaining: int | None  # None = until cleared


class FaultScript:
    """Queued faults, thread-safe; `times=None` keeps a fault until `clear()`."""

    def __init__(self) -> None:
        self._http: list[_Rule] = []
        self._jobs: list[_Rule] = []
        self._lock = threading.Lock()

    def push_http(
        self, fault: HttpFault, *, route: str | None = None, times: int | None = 1
    ) -> None:
        """The next `times` requests to `route` (one of ROUTES; None = any) get `fault`."""
        if route is not None and route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; one of {', '.join(ROUTES)}")
        self._push(self._http, fault, route, times)

    def push_job(
        self, fault: JobFault, *, task_id: str | None = None, times: int | None = 1
    ) -> None:
        """The next `times` jobs picked up (whose input has this task_id, or any) get `fault`."""
        self._push(self._jobs, fault, task_id, times)

    def clear(self) -> None:
        with self._lock:
            self._http.clear()
            self._jobs.clear()

    @property
    def pending(self) -> int:
        """Scripted faults still queued (a rule with no limit counts once)."""
        with self._lock:
            return sum(r.remaining or 1 for r in self._http + self._jobs)

    def take_http(self, route: str) -> HttpFault | None:
        fault = self._take(self._http, route)
        assert fault is None or isinstance(fault, HttpFault)
        return fault

    def take_job(self, task_id: str | None) -> JobFault | None:
        fault = self._take(self._jobs, task_id)
        assert fault is None or isinstance(fault, JobFault)
        return fault

    def _push(
        self, rules: list[_Rule], fault: HttpFault | JobFault, key: str | None, times: int | None
    ) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for always)")
        with self._lock:
            rules.append(_Rule(fault, key, times))

    def _take(self, rules: list[_Rule], key: str | None) -> HttpFault | JobFault | None:
        with self._lock:
            for rule in rules:
                if rule.key is not None and rule.key != key:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        rules.remove(rule)
                return rule.fault
        return None
