"""The worker pipeline and the local executor, with scripted in-memory providers."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import pytest

from bananabatch.contracts import ErrorKind, ImageRef, Mode, OutputSlot, TaskPayload
from bananabatch.executors.base import RemoteState
from bananabatch.executors.local import LocalExecutor
from bananabatch.providers.base import (
    BlockedError,
    GeneratedImage,
    GenerationRequest,
    ImageProvider,
    RateLimitedError,
    TransientError,
)
from bananabatch.worker.pipeline import PayloadError, WorkerOptions, automatic_generation, run_task

FAST = WorkerOptions(
    concurrency=2, retries=2, retry_base_seconds=0.001, max_inline_wait_seconds=1.0
)
REF = ImageRef(mime_type="image/png", data_b64=base64.b64encode(b"png-bytes").decode())


class Scripted:
    """A provider whose answer per prompt is a list of outcomes consumed in order."""

    name = "classic"

    def __init__(self, script: dict[str, list[Exception | None]], delay: float = 0.0) -> None:
        self.script = script
        self.delay = delay
        self.calls: list[str] = []
        self.active = 0
        self.max_active = 0
        self.seen_refs: list[bytes] = []

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        self.calls.append(request.prompt)
        self.seen_refs.extend(r.data for r in request.references)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(self.delay)
            outcomes = self.script.get(request.prompt, [])
            outcome = outcomes.pop(0) if outcomes else None
            if outcome is not None:
                raise outcome
            return GeneratedImage(
                data=request.prompt.encode(), mime_type="image/png", width=1, height=1
            )
        finally:
            self.active -= 1

    async def aclose(self) -> None:
        return None


def _payload(
    prompts: list[str], mode: Mode = Mode.semi_auto, refs: list[ImageRef] | None = None
) -> TaskPayload:
    return TaskPayload(
        task_id="t1",
        job_id="j1",
        mode=mode,
        provider="classic",
        model="classic",
        references=[REF] if refs is None else refs,
        slots=[
            OutputSlot(output_id=f"o{i}", prompt=p, seed=i, variation=i + 1)
            for i, p in enumerate(prompts)
        ],
    )


def _lookup(provider: ImageProvider) -> Callable[[str], ImageProvider]:
    return lambda _name: provider


async def test_one_slot_failing_never_fails_its_siblings() -> None:
    provider = Scripted({"bad": [BlockedError("IMAGE_SAFETY")], "boom": [RuntimeError("bug")] * 5})
    result = await run_task(_payload(["ok1", "bad", "ok2", "boom"]), _lookup(provider), FAST)
    by_id = {s.output_id: s for s in result.slots}
    assert [by_id[f"o{i}"].status for i in range(4)] == [
        "succeeded",
        "failed",
        "succeeded",
        "failed",
    ]
    assert by_id["o1"].error is not None and by_id["o1"].error.kind is ErrorKind.blocked
    assert by_id["o3"].error is not None and "bug" in by_id["o3"].error.message
    assert base64.b64decode(by_id["o0"].image.data_b64 or "") == b"ok1"  # type: ignore[union-attr]
    assert provider.calls.count("bad") == 1  # permanent: not retried inside the worker


async def test_transient_errors_get_short_bounded_retries() -> None:
    provider = Scripted(
        {
            "flaky": [TransientError("503"), RateLimitedError("429", retry_after=0.001)],
            "dead": [TransientError("503")] * 10,
            "slow-429": [RateLimitedError("429", retry_after=60.0)],
        }
    )
    result = await run_task(_payload(["flaky", "dead", "slow-429"]), _lookup(provider), FAST)
    flaky, dead, slow = result.slots
    assert flaky.status == "succeeded" and flaky.attempts == 3
    assert dead.status == "failed" and dead.attempts == 3 and provider.calls.count("dead") == 3
    # an advised delay longer than the worker may wait goes back to the orchestrator at once
    assert slow.status == "failed" and slow.attempts == 1
    assert slow.error is not None and slow.error.retry_after == 60.0


async def test_slots_run_concurrently_but_bounded() -> None:
    provider = Scripted({}, delay=0.02)
    await run_task(_payload([f"p{i}" for i in range(8)]), _lookup(provider), FAST)
    assert provider.max_active == 2


async def test_references_are_decoded_and_shared() -> None:
    provider = Scripted({})
    await run_task(_payload(["a", "b"]), _lookup(provider), FAST)
    assert provider.seen_refs == [b"png-bytes", b"png-bytes"]


async def test_bad_reference_fails_every_slot_permanently() -> None:
    bad = ImageRef(mime_type="image/png", data_b64="***not base64***")
    result = await run_task(_payload(["a", "b"], refs=[bad]), _lookup(Scripted({})), FAST)
    assert all(
        s.status == "failed" and s.error and s.error.kind is ErrorKind.internal
        for s in result.slots
    )


async def test_automatic_task_needs_exactly_one_source() -> None:
    with pytest.raises(PayloadError):
        await automatic_generation(_payload(["a"], Mode.automatic, refs=[]), Scripted({}), FAST)


async def test_local_executor_reports_completed_crashed_lost_and_keeps_running_on_cancel() -> None:
    gate = asyncio.Event()
    provider = Scripted({})

    async def runner(payload: TaskPayload, on_slot):  # type: ignore[no-untyped-def]
        if payload.task_id == "crash":
            raise RuntimeError("segfault-ish")
        if payload.task_id == "wait":
            await gate.wait()
        return await run_task(payload, _lookup(provider), FAST, on_slot)

    ex = LocalExecutor(runner, max_in_flight=4)
    ok, crash, wait = await ex.submit(
        [
            _payload(["x"]),
            _payload(["y"]).model_copy(update={"task_id": "crash"}),
            _payload(["z"]).model_copy(update={"task_id": "wait"}),
        ]
    )
    await asyncio.sleep(0.05)
    reports = {r.handle: r for r in await ex.poll([ok, crash, wait, "local-unknown"])}
    assert reports[ok].state is RemoteState.completed and reports[ok].result is not None
    assert reports[crash].state is RemoteState.failed and "segfault" in (reports[crash].error or "")
    assert reports[wait].state is RemoteState.running
    assert reports["local-unknown"].state is RemoteState.lost
    assert reports["local-unknown"].counts_as_attempt is False  # our restart, not the user's
    # A cancel never aborts a call in flight: the image is paid for and is kept (D2).
    assert await ex.cancel(wait) is False
    await asyncio.sleep(0.01)
    assert (await ex.poll([wait]))[0].state is RemoteState.running
    gate.set()
    await asyncio.sleep(0.05)
    assert (await ex.poll([wait]))[0].state is RemoteState.completed
    assert (await ex.poll([ok]))[0].state is RemoteState.lost  # a settled handle is forgotten
    await ex.aclose()


async def test_a_worker_that_cannot_serve_the_task_fails_it_as_permanent() -> None:
    from bananabatch.errors import ValidationFailed

    def no_key(name: str) -> ImageProvider:
        raise ValidationFailed("Set GEMINI_API_KEY to use Gemini models.")

    result = await run_task(_payload(["a", "b"]), no_key, FAST)
    assert [s.status for s in result.slots] == ["failed", "failed"]
    assert all(s.error and s.error.kind is ErrorKind.invalid for s in result.slots)
    assert "GEMINI_API_KEY" in (result.slots[0].error.message if result.slots[0].error else "")
    # an automatic task without its source: the same, never a crash to retry
    bad = await run_task(_payload(["a"], Mode.automatic, refs=[]), _lookup(Scripted({})), FAST)
    assert bad.slots[0].error is not None and bad.slots[0].error.kind is ErrorKind.invalid


async def test_every_billed_answer_is_recorded_as_a_paid_call() -> None:
    from bananabatch.contracts import Usage
    from bananabatch.providers.base import NoImageError

    blocked = BlockedError("no", usage=Usage(input_tokens=12, total_tokens=12))
    text_only = NoImageError("text", usage=Usage(input_tokens=9, output_tokens=3))
    provider = Scripted({"b": [blocked], "t": [text_only], "r": [RateLimitedError("slow")]})
    result = await run_task(_payload(["ok", "b", "t", "r"]), _lookup(provider), FAST)
    calls = {
        s.output_id: [(c.outcome, c.usage.input_tokens) for c in s.calls] for s in result.slots
    }
    assert calls == {
        "o0": [("image", 0)],
        "o1": [("blocked", 12)],
        "o2": [("no_image", 9)],
        "o3": [("image", 0)],  # a 429 is not billed; the in-worker retry is
    }
