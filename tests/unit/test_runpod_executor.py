"""The RunPod executor's HTTP behaviour, against scripted answers (httpx.MockTransport).

Whole jobs against the fake RunPod cloud API live in tests/integration."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bananabatch.contracts import Mode, OutputSlot, SlotResult, TaskPayload, TaskResult
from bananabatch.domain.payload_budget import RUN_BODY_LIMIT_BYTES
from bananabatch.executors.base import RemoteState, SubmitFailure
from bananabatch.executors.runpod import RunPodExecutor
from bananabatch.executors.signing import TransportSigner

Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _payload(task_id: str = "t1", prompt: str = "p", slots: int = 2) -> TaskPayload:
    return TaskPayload(
        task_id=task_id,
        job_id="j1",
        mode=Mode.semi_auto,
        provider="classic",
        model="classic",
        slots=[
            OutputSlot(output_id=f"o{i}", prompt=prompt, seed=i, variation=1) for i in range(slots)
        ],
    )


def _executor(handler: Handler, clock: Clock | None = None, **kw: object) -> RunPodExecutor:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return RunPodExecutor(
        api_url="https://api.runpod.test/v2",
        endpoint_id="ep1",
        api_key="rp-key",
        max_in_flight=8,
        http=http,
        clock=clock or Clock(),
        retry_base_seconds=0.0,
        **kw,  # type: ignore[arg-type]
    )


async def test_submit_sends_input_policy_and_webhook_with_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"id": "rp-1", "status": "IN_QUEUE"})

    signer = TransportSigner("k", "https://bb.example.com", 3600)
    ex = _executor(handler, signer=signer, execution_timeout_seconds=600, ttl_seconds=7200)
    assert await ex.submit([_payload()]) == ["rp-1"]
    req = seen[0]
    assert req.url == "https://api.runpod.test/v2/ep1/run"
    assert req.headers["authorization"] == "Bearer rp-key"
    body = json.loads(req.content)
    assert TaskPayload.model_validate(body["input"]) == _payload()
    assert body["policy"] == {"executionTimeout": (120 + 90 * 2) * 1000, "ttl": 7200 * 1000}
    assert body["webhook"] == signer.webhook_url("t1")
    assert ex.largest_body_bytes == len(req.content)
    await ex.aclose()


async def test_a_body_over_10_mb_is_never_sent() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json={"id": "x"})

    ex = _executor(handler)
    big = _payload(prompt="x" * (RUN_BODY_LIMIT_BYTES // 2 + 10))
    [result] = await ex.submit([big])
    assert isinstance(result, SubmitFailure) and result.permanent and "10 MB" in result.error
    assert calls == 0
    await ex.aclose()


async def test_submit_retries_429_5xx_and_dropped_connections() -> None:
    answers: list[object] = [
        httpx.Response(429, headers={"retry-after": "0"}),
        httpx.Response(503),
        httpx.RemoteProtocolError("peer closed"),
        httpx.Response(200, json={"id": "rp-9", "status": "IN_QUEUE"}),
    ]

    def handler(req: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    ex = _executor(handler)
    assert await ex.submit([_payload()]) == ["rp-9"]
    assert answers == []
    await ex.aclose()


async def test_submit_gives_up_with_a_reason_and_4xx_is_not_retried() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401, text="bad key")

    ex = _executor(handler)
    [failure] = await ex.submit([_payload()])
    assert isinstance(failure, SubmitFailure) and "401" in failure.error
    assert calls == 1
    await ex.aclose()


def _result(task_id: str = "t1") -> dict[str, object]:
    return TaskResult(
        task_id=task_id,
        slots=[SlotResult(output_id="o0", status="failed")],
    ).model_dump(mode="json")


@pytest.mark.parametrize(
    ("doc", "code", "state", "error_part"),
    [
        ({"status": "IN_QUEUE"}, 200, RemoteState.queued, None),
        ({"status": "IN_PROGRESS"}, 200, RemoteState.running, None),
        ({"status": "COMPLETED", "output": _result()}, 200, RemoteState.completed, None),
        ({"status": "COMPLETED"}, 200, RemoteState.failed, "without its output"),
        ({"status": "COMPLETED", "output": {"x": 1}}, 200, RemoteState.failed, "unreadable"),
        ({"status": "FAILED", "error": "boom"}, 200, RemoteState.failed, "boom"),
        ({"status": "TIMED_OUT"}, 200, RemoteState.failed, "execution timeout"),
        ({"status": "CANCELLED"}, 200, RemoteState.cancelled, None),
        ({"error": "request does not exist"}, 404, RemoteState.lost, "no longer knows"),
    ],
)
async def test_every_status_is_mapped(
    doc: dict[str, object], code: int, state: RemoteState, error_part: str | None
) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/run"):
            return httpx.Response(200, json={"id": "rp-1", "status": "IN_QUEUE"})
        assert req.url.path == "/v2/ep1/status/rp-1"
        return httpx.Response(code, json={"id": "rp-1", "delayTime": 1200, **doc})

    clock = Clock()
    ex = _executor(handler, clock)
    await ex.submit([_payload()])
    clock.now += 2
    [report] = await ex.poll(["rp-1"])
    assert report.state is state
    if error_part:
        assert error_part in (report.error or "")
    if state is RemoteState.completed:
        assert report.result is not None and report.result.task_id == "t1"
    if code == 200:
        assert report.delay_ms == 1200
    await ex.aclose()


async def test_status_errors_keep_the_task_and_back_off() -> None:
    answers = [httpx.Response(502), httpx.Response(200, json={"status": "IN_PROGRESS"})]
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return answers.pop(0)

    clock = Clock()
    ex = _executor(handler, clock)
    [r1] = await ex.poll(["rp-1"])  # after a restart: unknown, due at once
    assert r1.state is RemoteState.queued and calls == 1
    [r2] = await ex.poll(["rp-1"])  # backing off: no request
    assert r2.state is RemoteState.queued and calls == 1
    clock.now += 3
    [r3] = await ex.poll(["rp-1"])
    assert r3.state is RemoteState.running and calls == 2
    await ex.aclose()


async def test_polling_stays_under_the_request_budget() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json={"status": "IN_QUEUE"})

    clock = Clock()
    ex = _executor(handler, clock, status_rate=10.0)
    handles = [f"rp-{i}" for i in range(100)]
    await ex.poll(handles)
    assert calls == 10  # the burst
    await ex.poll(handles)
    assert calls == 10  # no time passed, no tokens
    clock.now += 1.0
    await ex.poll(handles)
    assert calls == 20
    await ex.aclose()


async def test_webhook_notify_makes_a_task_due_at_once() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        if req.url.path.endswith("/run"):
            return httpx.Response(200, json={"id": "rp-1", "status": "IN_QUEUE"})
        calls += 1
        return httpx.Response(200, json={"status": "COMPLETED", "output": _result()})

    ex = _executor(handler)
    await ex.submit([_payload()])
    [r] = await ex.poll(["rp-1"])
    assert r.state is RemoteState.queued and calls == 0  # not yet due
    ex.notify("rp-1")
    [r] = await ex.poll(["rp-1"])
    assert r.state is RemoteState.completed and calls == 1
    await ex.aclose()


async def test_cancel_withdraws_only_queued_tasks() -> None:
    cancelled: list[str] = []
    state = {"rp-1": "IN_QUEUE", "rp-2": "IN_PROGRESS"}

    def handler(req: httpx.Request) -> httpx.Response:
        path = req.url.path
        if "/cancel/" in path:
            cancelled.append(path.rsplit("/", 1)[-1])
            return httpx.Response(200, json={"status": "CANCELLED"})
        return httpx.Response(200, json={"status": state[path.rsplit("/", 1)[-1]]})

    ex = _executor(handler)
    await ex.poll(["rp-1", "rp-2"])
    assert await ex.cancel("rp-1") is True
    assert await ex.cancel("rp-2") is False  # running: paid for, let it finish
    assert await ex.cancel("rp-unknown") is False
    assert cancelled == ["rp-1"]
    await ex.aclose()


async def test_health_reports_workers_queue_and_problems() -> None:
    def ok(req: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "jobs": {"completed": 3, "failed": 0, "inProgress": 1, "inQueue": 2, "retried": 0},
                "workers": {"idle": 1, "running": 1},
            },
        )

    ex = _executor(ok)
    info = await ex.health()
    assert info["ok"] is True and info["workers"] == {"idle": 1, "running": 1}
    assert info["endpoint_id"] == "ep1"
    await ex.aclose()

    ex = _executor(lambda req: httpx.Response(401))
    info = await ex.health()
    assert info["ok"] is False and "RUNPOD_API_KEY" in str(info["error"])
    await ex.aclose()
