"""One executor port over two engines: a job's tasks go to the Gemini Batch API when
the job chose it (`TaskPayload.route == "batch"`), to the configured executor (local or
RunPod) otherwise. Handles say which engine holds them."""

from __future__ import annotations

from collections.abc import Callable

from bananabatch.contracts import TaskPayload
from bananabatch.executors.base import Executor, SubmitFailure, TaskStatusReport
from bananabatch.executors.gemini_batch_lines import is_batch_handle


class RoutingExecutor:
    def __init__(self, standard: Executor, batch: Executor | None) -> None:
        self.standard = standard
        self.batch = batch
        self.name = standard.name
        self.max_in_flight = standard.max_in_flight

    async def submit(self, payloads: list[TaskPayload]) -> list[str | SubmitFailure]:
        answers: dict[int, str | SubmitFailure] = {}
        batch = [(i, p) for i, p in enumerate(payloads) if p.route == "batch"]
        standard = [(i, p) for i, p in enumerate(payloads) if p.route != "batch"]
        if batch:
            if self.batch is None:
                refused = SubmitFailure(
                    "The Batch API route needs GEMINI_API_KEY on this server.", permanent=True
                )
                answers.update((i, refused) for i, _ in batch)
            else:
                handles = await self.batch.submit([p for _, p in batch])
                answers.update(zip([i for i, _ in batch], handles, strict=True))
        if standard:
            handles = await self.standard.submit([p for _, p in standard])
            answers.update(zip([i for i, _ in standard], handles, strict=True))
        return [answers[i] for i in range(len(payloads))]

    async def poll(self, handles: list[str]) -> list[TaskStatusReport]:
        reports: dict[int, TaskStatusReport] = {}
        batch = [(i, h) for i, h in enumerate(handles) if is_batch_handle(h)]
        standard = [(i, h) for i, h in enumerate(handles) if not is_batch_handle(h)]
        if batch and self.batch is not None:
            got = await self.batch.poll([h for _, h in batch])
            reports.update(zip([i for i, _ in batch], got, strict=True))
        if standard:
            got = await self.standard.poll([h for _, h in standard])
            reports.update(zip([i for i, _ in standard], got, strict=True))
        return [reports[i] for i in range(len(handles))]

    async def cancel(self, handle: str) -> bool:
        if is_batch_handle(handle):
            return self.batch is not None and await self.batch.cancel(handle)
        return await self.standard.cancel(handle)

    async def health(self) -> dict[str, object]:
        answer = await self.standard.health()
        if self.batch is not None:
            answer = {**answer, "gemini_batch": await self.batch.health()}
        return answer

    def set_waker(self, wake: Callable[[], None]) -> None:
        self.standard.set_waker(wake)
        if self.batch is not None:
            self.batch.set_waker(wake)

    async def aclose(self) -> None:
        await self.standard.aclose()
        if self.batch is not None:
            await self.batch.aclose()


def holds_a_slot(handle: str | None) -> bool:
    """Whether a task in flight uses one of the executor's slots: a task waiting in a
    Gemini batch for hours must not keep standard work from running."""
    return not is_batch_handle(handle)
