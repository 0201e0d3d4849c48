"""Scripted and prompt-marker faults of the fake Gemini server: which answer shape a
generateContent call gets (rate limit, server error, block, text only, ...)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from typing import Literal

from tests.fakes.gemini.content import CONTENT_MARKERS

_MARKER_RE = re.compile(r"\[\[([^\[\]]+)\]\]")

MARKERS: dict[str, str] = {
    "[[block]] / [[block:REASON]]": "promptFeedback.blockReason (default SAFETY), no candidates",
    "[[finish:REASON]]": "a candidate with finishReason REASON and no content (e.g. IMAGE_SAFETY)",
    "[[image-safety]]": "shorthand for [[finish:IMAGE_SAFETY]]",
    "[[text-only]]": "a text part only, finishReason STOP",
    "[[no-image]]": "finishReason NO_IMAGE with a short text part",
    "[[NNNxK]] / [[NNNxK:DELAY]]": "the first K calls for this prompt+seed fail with HTTP NNN "
    "(429 carries RetryInfo retryDelay DELAY, default the server's), then normal",
    "[[NNN]]": "every call fails with HTTP NNN (e.g. [[400]] for a permanent error)",
    "[[slow:SECONDS]]": "answer after SECONDS",
    "[[thoughts]] / [[thoughts:N]]": "N thought parts (text + draft image, thought=true) first",
    "[[images:N]]": "N image parts; the last one is the final image",
}

MARKERS.update(CONTENT_MARKERS)  # answers made from the reference (content.py)

FaultKind = Literal["ok", "http_error", "prompt_block", "finish", "text_only", "thoughts", "images"]


@dataclass(frozen=True)
class Fault:
    """One scripted answer shape. `delay` seconds pass before it is sent."""

    kind: FaultKind = "ok"
    delay: float = 0.0
    status: int = 200
    message: str | None = None
    retry_delay: str | None = None
    reason: str | None = None
    text: str | None = None
    count: int = 1

    @classmethod
    def ok(cls, *, delay: float = 0.0) -> Fault:
        return cls("ok", delay=delay)

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """A normal answer, late."""
        return cls("ok", delay=seconds)

    @classmethod
    def rate_limit(cls, retry_delay: str | None = "1s", *, delay: float = 0.0) -> Fault:
        """HTTP 429 RESOURCE_EXHAUSTED; `retry_delay=None` sends no RetryInfo detail."""
        return cls("http_error", status=429, retry_delay=retry_delay, delay=delay)

    @classmethod
    def server_error(cls, status: int = 500, *, delay: float = 0.0) -> Fault:
        return cls("http_error", status=status, delay=delay)

    @classmethod
    def http_error(cls, status: int, message: str | None = None) -> Fault:
        """Any error status, e.g. 400 INVALID_ARGUMENT with a message."""
        return cls("http_error", status=status, message=message)

    @classmethod
    def prompt_blocked(cls, reason: str = "SAFETY", message: str | None = None) -> Fault:
        return cls("prompt_block", reason=reason, message=message)

    @classmethod
    def finish(cls, reason: str = "IMAGE_SAFETY", message: str | None = None) -> Fault:
        """A candidate with this finishReason and no content."""
        return cls("finish", reason=reason, message=message)

    @classmethod
    def text_only(cls, text: str = "I can describe it, but here is no image.") -> Fault:
        return cls("text_only", text=text, reason="STOP")

    @classmethod
    def no_image(cls, text: str = "I could not generate an image.") -> Fault:
        return cls("text_only", text=text, reason="NO_IMAGE")

    @classmethod
    def thoughts(cls, n: int = 1) -> Fault:
        return cls("thoughts", count=n)

    @classmethod
    def images(cls, n: int = 2) -> Fault:
        return cls("images", count=n)


@dataclass
class _Rule:
    fault: Fault
    model: str | None
    remaining: int | None  # None = until cleared


class Script:
    """Queued faults, consumed in order by matching calls (thread-safe)."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def push(self, fault: Fault, *, model: str | None = None, times: int | None = 1) -> None:
        """Answer the next `times` calls (for `model`, or any) with `fault`; None = always."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for always)")
        with self._lock:
            self._rules.append(_Rule(fault, model, times))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> int:
        """Scripted answers still queued (rules with no limit count as one)."""
        with self._lock:
            return sum(r.remaining or 1 for r in self._rules)

    def take(self, model: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.model is not None and rule.model != model:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule.fault
        return None


def faults_from_markers(prompt: str, calls_so_far: int, default_retry_delay: str) -> Fault:
    """The answer the prompt's markers ask for, given how many calls this prompt+seed saw."""
    delay = 0.0
    answer: Fault | None = None
    success = Fault.ok()
    for raw in _MARKER_RE.findall(prompt):
        marker = raw.strip()
        name, _, arg = marker.partition(":")
        name = name.strip().lower()
        arg = arg.strip()
        count = re.fullmatch(r"(\d{3})(?:x(\d+))?", name)
        if count:
            status, limit = int(count.group(1)), count.group(2)
            if answer is None and (limit is None or calls_so_far < int(limit)):
                retry = (arg or default_retry_delay) if status == 429 else None
                answer = Fault("http_error", status=status, retry_delay=retry)
        elif name == "slow":
            delay += float(arg or "1")
        elif name == "block":
            answer = answer or Fault.prompt_blocked((arg or "SAFETY").upper())
        elif name == "finish":
            answer = answer or Fault.finish((arg or "IMAGE_SAFETY").upper())
        elif name == "image-safety":
            answer = answer or Fault.finish("IMAGE_SAFETY")
        elif name == "text-only":
            answer = answer or Fault.text_only()
        elif name == "no-image":
            answer = answer or Fault.no_image()
        elif name == "thoughts":
            success = Fault.thoughts(int(arg or "1"))
        elif name == "images":
            success = Fault.images(int(arg or "2"))
    return replace(answer or success, delay=delay)
