"""A wake that arrives while a scheduling round runs is not lost: the next round
starts at once, not after the poll interval (a job created mid-round would otherwise
wait up to `BANANABATCH_POLL_INTERVAL_SECONDS`)."""

from __future__ import annotations

import asyncio

import pytest

from bananabatch.config import Settings
from bananabatch.runtime import build_runtime


async def test_a_wake_during_a_round_starts_the_next_round_at_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = build_runtime(settings.model_copy(update={"poll_interval_seconds": 30.0}))
    orchestrator = rt.orchestrator
    rounds: list[float] = []
    second = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def tick() -> bool:
        rounds.append(loop.time())
        if len(rounds) == 1:
            await asyncio.sleep(0.05)
            orchestrator.wake()  # new work arrives while this round runs
        else:
            second.set()
        return False

    monkeypatch.setattr(orchestrator, "tick", tick)
    await rt.start()
    try:
        async with asyncio.timeout(5):
            await second.wait()
    finally:
        await rt.stop()
    assert rounds[1] - rounds[0] < 1.0
