"""The fake RunPod cloud API: the official SDK talks to it, and its queue semantics
(limits, expiry, ttl, cancel, retry, purge, health, faults, webhooks) hold."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bananabatch.contracts import TaskResult
from tests.fakes.runpod_jobs import WORKER_HANDLER
from tests.fakes.runpod_server import FakeRunPodServer, HttpFault, JobFault

TEST_INPUT: dict[str, Any] = json.loads((WORKER_HANDLER.parent / "test_input.json").read_text())
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def _client(fake: FakeRunPodServer, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key or fake.api_key}"}
    return httpx.Client(base_url=fake.endpoint_url, headers=headers, timeout=10.0)


@pytest.fixture
def api(runpod_fake: FakeRunPodServer) -> Iterator[httpx.Client]:
    with _client(runpod_fake) as client:
        yield client


def _run(api: httpx.Client, **extra: Any) -> str:
    resp = api.post("/run", json={**TEST_INPUT, **extra})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "IN_QUEUE"
    job_id: str = resp.json()["id"]
    return job_id


def _final(api: httpx.Client, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = api.get(f"/status/{job_id}").json()
        if body["status"] in FINAL:
            return body
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} not final after {timeout}s")


def test_the_official_sdk_runs_the_test_input(
    runpod_fake: FakeRunPodServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpod

    monkeypatch.setattr(runpod, "api_key", runpod_fake.api_key)
    monkeypatch.setattr(runpod, "endpoint_url_base", runpod_fake.api_url)
    endpoint = runpod.Endpoint(runpod_fake.endpoint_id)

    job = endpoint.run(TEST_INPUT)
    deadline = time.monotonic() + 20
    while job.status() not in FINAL and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.status() == "COMPLETED"
    result = TaskResult.model_validate(job.output())
    assert result.task_id == TEST_INPUT["input"]["task_id"]
    assert [s.status for s in result.slots] == ["succeeded", "succeeded"]

    synced = TaskResult.model_validate(endpoint.run_sync(TEST_INPUT, timeout=20))
    assert len(synced.slots) == 2
    health = endpoint.health()
    assert health["jobs"]["completed"] == 2
    assert endpoint.purge_queue() == {"removed": 0, "status": "completed"}
    stats = runpod_fake.stats()
    assert stats.runs_received == 2 and stats.handler_invocations == 2
    assert stats.requests["run"] == 1 and stats.requests["runsync"] == 1


def test_status_carries_timings_and_the_worker(
    runpod_fake: FakeRunPodServer, api: httpx.Client
) -> None:
    body = _final(api, _run(api))
    assert body["status"] == "COMPLETED"
    assert body["workerId"].startswith("fake-worker-")
    assert isinstance(body["delayTime"], int) and isinstance(body["executionTime"], int)
    assert set(body) == {"id", "status", "delayTime", "executionTime", "workerId", "output"}


def test_auth_is_required(runpod_fake: FakeRunPodServer) -> None:
    with httpx.Client(base_url=runpod_fake.endpoint_url) as anonymous:
        assert anonymous.get("/health").status_code == 401
        bare = anonymous.get("/health", headers={"Authorization": runpod_fake.api_key})
        assert bare.status_code == 401
    with _client(runpod_fake, key="wrong") as wrong:
        assert wrong.post("/run", json=TEST_INPUT).status_code == 401
    with httpx.Client(
        base_url=f"{runpod_fake.api_url}/other-endpoint",
        headers={"Authorization": f"Bearer {runpod_fake.api_key}"},
    ) as other:
        assert other.get("/health").status_code == 404
    assert runpod_fake.stats().runs_received == 0


def test_a_body_over_10_mib_is_refused(runpod_fake: FakeRunPodServer, api: httpx.Client) -> None:
    runpod_fake.pause()
    limit = 10 * 1024 * 1024
    big = api.post("/run", content=b'{"input": "' + b"x" * limit + b'"}')
    assert big.status_code == 400
    assert "limit" in big.json()["error"]
    fits = api.post("/run", content=b'{"input": "' + b"x" * (limit - 100) + b'"}')
    assert fits.status_code == 200
    stats = runpod_fake.stats()
    assert stats.runs_received == 1
    assert stats.largest_run_body_bytes == limit + len(b'{"input": ""}')


def test_a_chunked_body_is_read(runpod_fake: FakeRunPodServer, api: httpx.Client) -> None:
    body = json.dumps(TEST_INPUT).encode()
    resp = api.post("/run", content=iter([body[:100], body[100:]]))  # no Content-Length
    assert resp.status_code == 200, resp.text
    assert _final(api, resp.json()["id"])["status"] == "COMPLETED"
    assert runpod_fake.stats().largest_run_body_bytes == len(body)


def test_results_expire() -> None:
    with FakeRunPodServer(result_ttl=0.3) as fake, _client(fake) as api:
        job_id = _run(api)
        assert _final(api, job_id)["status"] == "COMPLETED"
        time.sleep(0.45)
        assert api.get(f"/status/{job_id}").status_code == 404


def test_ttl_deletes_a_job_even_while_it_runs(
    runpod_fake: FakeRunPodServer, api: httpx.Client
) -> None:
    runpod_fake.script.push_job(JobFault.hang())
    job_id = _run(api, policy={"ttl": 300})
    time.sleep(0.1)
    assert api.get(f"/status/{job_id}").json()["status"] == "IN_PROGRESS"
    time.sleep(0.35)
    assert api.get(f"/status/{job_id}").status_code == 404
    assert api.get("/health").json()["jobs"]["inProgress"] == 0


def test_execution_timeout_then_retry(runpod_fake: FakeRunPodServer, api: httpx.Client) -> None:
    runpod_fake.script.push_job(JobFault.hang())
    job_id = _run(api, policy={"executionTimeout": 200})
    timed_out = _final(api, job_id)
    assert timed_out["status"] == "TIMED_OUT" and "output" not in timed_out
    assert api.post(f"/retry/{job_id}").json() == {"id": job_id, "status": "IN_QUEUE"}
    completed = _final(api, job_id)
    assert completed["status"] == "COMPLETED"
    TaskResult.model_validate(completed["output"])
    assert api.post(f"/retry/{job_id}").status_code == 400  # only FAILED / TIMED_OUT
    assert api.get("/health").json()["jobs"]["retried"] == 1


def test_cancel_a_queued_and_a_running_job(
    runpod_fake: FakeRunPodServer, api: httpx.Client
) -> None:
    runpod_fake.pause()
    queued = _run(api)
    assert api.post(f"/cancel/{queued}").json() == {"id": queued, "status": "CANCELLED"}
    runpod_fake.script.push_job(JobFault.hang())
    running = _run(api)
    runpod_fake.resume()
    time.sleep(0.1)
    assert api.get(f"/status/{running}").json()["status"] == "IN_PROGRESS"
    assert api.post(f"/cancel/{running}").json()["status"] == "CANCELLED"
    time.sleep(0.1)
    assert api.get(f"/status/{queued}").json()["status"] == "CANCELLED"
    assert api.get(f"/status/{running}").json()["status"] == "CANCELLED"
    assert api.post("/cancel/no-such-job").status_code == 404
    assert runpod_fake.stats().handler_invocations == 0


def test_purge_queue_and_health_counts(runpod_fake: FakeRunPodServer, api: httpx.Client) -> None:
    runpod_fake.pause()
    ids = [_run(api) for _ in range(3)]
    health = api.get("/health").json()
    assert health["jobs"] == {
        "completed": 0,
        "failed": 0,
        "inProgress": 0,
        "inQueue": 3,
        "retried": 0,
    }
    assert health["workers"]["idle"] == 2 and health["workers"]["running"] == 0
    assert api.post("/purge-queue").json() == {"removed": 3, "status": "completed"}
    assert all(api.get(f"/status/{i}").status_code == 404 for i in ids)
    runpod_fake.resume()
    runpod_fake.script.push_job(JobFault.failed("boom"))
    _final(api, _run(api))
    _final(api, _run(api))
    jobs = api.get("/health").json()["jobs"]
    assert (jobs["completed"], jobs["failed"], jobs["inQueue"]) == (1, 1, 0)


def test_injected_failures_and_a_bad_payload_fail_like_runpod(
    runpod_fake: FakeRunPodServer, api: httpx.Client
) -> None:
    runpod_fake.script.push_job(JobFault.failed("GPU fell off the bus"), times=2)
    failed = [_final(api, _run(api)) for _ in range(2)]
    for body in failed:
        assert body["status"] == "FAILED" and "output" not in body
        error = json.loads(body["error"])  # the SDK's error JSON, as a deployed worker sends
        assert error["error_message"] == "GPU fell off the bus"
    bad = api.post("/run", json={"input": {"task_id": "t"}}).json()["id"]
    error = json.loads(_final(api, bad)["error"])
    assert error["error_type"] == "<class 'ValueError'>"
    assert "input is not a valid TaskPayload" in error["error_message"]
    assert _final(api, _run(api))["status"] == "COMPLETED"


def test_an_oversized_output_is_dropped() -> None:
    with FakeRunPodServer(max_output_bytes=1000) as fake, _client(fake) as api:
        body = _final(api, _run(api))
        assert body["status"] == "COMPLETED" and "output" not in body
        assert fake.stats().outputs_dropped == 1


def test_scripted_job_outcomes(runpod_fake: FakeRunPodServer, api: httpx.Client) -> None:
    runpod_fake.script.push_job(JobFault.lost(), task_id="lost-task")
    runpod_fake.script.push_job(JobFault.returns({"not": "a task result"}))
    runpod_fake.script.push_job(JobFault.timed_out())
    lost = _run(api, input={**TEST_INPUT["input"], "task_id": "lost-task"})
    assert _final(api, _run(api))["output"] == {"not": "a task result"}
    assert _final(api, _run(api))["status"] == "TIMED_OUT"
    time.sleep(0.1)
    assert api.get(f"/status/{lost}").status_code == 404


def test_http_faults(runpod_fake: FakeRunPodServer, api: httpx.Client) -> None:
    runpod_fake.script.push_http(HttpFault.rate_limited(retry_after=2), route="status", times=2)
    job_id = _run(api)
    for _ in range(2):
        limited = api.get(f"/status/{job_id}")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert api.get(f"/status/{job_id}").status_code == 200

    runpod_fake.script.push_http(HttpFault.drop(), route="run")
    with pytest.raises(httpx.TransportError):
        api.post("/run", json=TEST_INPUT)
    assert runpod_fake.stats().runs_received == 1  # dropped before it took effect
    runpod_fake.script.push_http(HttpFault.drop_after(), route="run")
    with pytest.raises(httpx.TransportError):
        api.post("/run", json=TEST_INPUT)
    assert runpod_fake.stats().runs_received == 2  # the answer was lost, the job exists
    assert runpod_fake.stats().requests["run"] == 3


def test_workers_run_several_jobs_each() -> None:
    with FakeRunPodServer(workers=2, jobs_per_worker=2) as fake, _client(fake) as api:
        fake.script.push_job(JobFault.hang(), times=6)
        ids = [_run(api) for _ in range(6)]
        deadline = time.monotonic() + 5
        while api.get("/health").json()["jobs"]["inProgress"] < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # no fifth job may start
        health = api.get("/health").json()
        assert (health["jobs"]["inProgress"], health["jobs"]["inQueue"]) == (4, 2)
        assert health["workers"]["running"] == 2 and health["workers"]["idle"] == 0
        statuses = [api.get(f"/status/{i}").json()["status"] for i in ids]
        assert statuses == ["IN_PROGRESS"] * 4 + ["IN_QUEUE"] * 2  # FIFO
        for job_id in ids[:4]:
            api.post(f"/cancel/{job_id}")
        time.sleep(0.15)
        assert [api.get(f"/status/{i}").json()["status"] for i in ids[4:]] == ["IN_PROGRESS"] * 2
        assert fake.stats().max_concurrent_jobs == 4


class _Receiver(BaseHTTPRequestHandler):
    """A webhook target that fails its first call."""

    calls: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(body)
        self.send_response(500 if len(self.calls) == 1 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_webhook_gets_the_final_status_with_retries(
    runpod_fake: FakeRunPodServer, api: httpx.Client
) -> None:
    handler: type[_Receiver] = type("Receiver", (_Receiver,), {"calls": []})
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        job_id = _run(api, webhook=url)
        status = _final(api, job_id)
        deadline = time.monotonic() + 5
        while not runpod_fake.webhooks and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert [call["status"] for call in handler.calls] == ["COMPLETED", "COMPLETED"]
    assert handler.calls[1] == status
    (hook,) = runpod_fake.webhooks
    assert (hook.url, hook.attempts, hook.delivered) == (url, 2, True)
