"""A fake RunPod Serverless cloud API that speaks the real queue-endpoint protocol.

Real HTTP on 127.0.0.1 (a free port), daemon threads, so a test process that dies takes
it along. Serves, under `/v2/{endpoint_id}`:

* `POST /run`: `{"input": ..., "webhook"?: url, "policy"?: {"executionTimeout": ms,
  "ttl": ms}}` -> `{"id", "status": "IN_QUEUE"}`; a body over 10 MiB -> 400;
* `POST /runsync`: the same, waits up to `runsync_wait` s and answers like /status
  (20 MiB limit; results kept `?wait=` ms, default 60 s);
* `GET /status/{id}`: `{"id", "status", "delayTime", "executionTime", "workerId",
  "output" | "error"}`; unknown, expired, purged, lost or past-ttl jobs -> 404;
* `POST /cancel/{id}`, `POST /retry/{id}` (FAILED / TIMED_OUT only, else 400),
  `POST /purge-queue` -> `{"removed", "status": "completed"}`, `GET /health`.

Every request needs `Authorization: Bearer <api_key>` (401 otherwise). Jobs run the
real `worker/handler.py` (see `runpod_cloud.py`); faults are scripted through
`server.script` (see `runpod_faults.py`). Point the official SDK at it with
`runpod.endpoint_url_base = server.api_url`, or use `server.api_url` as the
executor's RUNPOD API base (`BANANABATCH_RUNPOD_API_URL`). Test infrastructure only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fakes.runpod_cloud import FakeRunPodCloud
from tests.fakes.runpod_faults import FaultScript, HttpFault, JobFault
from tests.fakes.runpod_jobs import FakeJob, Handler, RunPodStats, Webhook, check_submit_body

__all__ = ["FakeRunPodServer", "FaultScript", "HttpFault", "JobFault", "RunPodStats"]

log = logging.getLogger("fake_runpod")

MIB = 1024 * 1024
_PATH_RE = re.compile(
    r"^/v2/(?P<endpoint>[^/]+)/(?P<route>run|runsync|status|cancel|retry|purge-queue|health)"
    r"(?:/(?P<job>[^/]+))?/?$"
)
_METHODS = {
    "run": "POST",
    "runsync": "POST",
    "status": "GET",
    "cancel": "POST",
    "retry": "POST",
    "purge-queue": "POST",
    "health": "GET",
}
_NEEDS_JOB = frozenset({"status", "cancel", "retry"})

Answer = tuple[int, dict[str, Any]]


class FakeRunPodServer:
    """The fake cloud API. Thread-based: start/stop from any thread, or use `with`."""

    def __init__(
        self,
        *,
        api_key: str = "fake-runpod-key",
        endpoint_id: str = "fake-endpoint",
        host: str = "127.0.0.1",
        port: int = 0,
        handler: Handler | None = None,
        workers: int = 2,
        jobs_per_worker: int = 4,
        result_ttl: float = 30 * 60.0,
        default_execution_timeout: float = 600.0,
        pickup_delay: float = 0.0,
        max_run_body_bytes: int = 10 * MIB,
        max_runsync_body_bytes: int = 20 * MIB,
        max_output_bytes: int = 20 * MIB,
        runsync_wait: float = 90.0,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 10.0,
    ) -> None:
        self.api_key = api_key
        self.endpoint_id = endpoint_id
        self.host = host
        self.port = port
        self.max_run_body_bytes = max_run_body_bytes
        self.max_runsync_body_bytes = max_runsync_body_bytes
        self.runsync_wait = runsync_wait
        self.script = FaultScript()
        self.cloud = FakeRunPodCloud(
            handler=handler,
            workers=workers,
            jobs_per_worker=jobs_per_worker,
            result_ttl=result_ttl,
            default_execution_timeout=default_execution_timeout,
            pickup_delay=pickup_delay,
            max_output_bytes=max_output_bytes,
            webhook_attempts=webhook_attempts,
            webhook_retry_delay=webhook_retry_delay,
            script=self.script,
        )
        self._requests: Counter[str] = Counter()
        self._largest_body = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ---------------------------------------------------------- lifecycle ----

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake RunPod server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """RunPod's `https://api.runpod.ai/v2` for this server (the SDK's endpoint_url_base)."""
        return f"{self.base_url}/v2"

    @property
    def endpoint_url(self) -> str:
        return f"{self.api_url}/{self.endpoint_id}"

    def start(self) -> FakeRunPodServer:
        if self._httpd is not None:
            return self
        self.cloud.start()
        handler = type("Handler", (_Handler,), {"fake": self})
        httpd = ThreadingHTTPServer((self.host, self.port), handler)
        httpd.daemon_threads = True
        self._httpd, self.port = httpd, httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-runpod:{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("fake RunPod listening on %s", self.endpoint_url)
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would linger otherwise
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.cloud.stop()

    def __enter__(self) -> FakeRunPodServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------- controls ----

    def pause(self) -> None:
        """Workers take no new jobs (queued ones stay IN_QUEUE) until `resume()`."""
        self.cloud.paused = True

    def resume(self) -> None:
        self.cloud.paused = False
        self.cloud._kick()

    # -------------------------------------------------------- assertions ----

    def stats(self) -> RunPodStats:
        counters = self.cloud.counters
        with self._lock:
            return RunPodStats(
                runs_received=counters["runs_received"],
                handler_invocations=counters["handler_invocations"],
                largest_run_body_bytes=self._largest_body,
                requests=dict(self._requests),
                max_concurrent_jobs=counters["max_concurrent_jobs"],
                outputs_dropped=counters["outputs_dropped"],
                retried=counters["retried"],
            )

    def jobs(self) -> list[FakeJob]:
        """Every job the cloud still knows (not expired, purged, lost or past its ttl)."""
        return self.cloud.jobs()

    def job(self, job_id: str) -> FakeJob | None:
        return self.cloud.get(job_id)

    @property
    def webhooks(self) -> list[Webhook]:
        return list(self.cloud.webhooks)

    def wait_for(self, job_id: str, timeout: float = 10.0) -> FakeJob:
        """Block until the job is final (or gone: KeyError)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.cloud.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.done.wait(0.02):
                return job
        raise TimeoutError(f"job {job_id} not final after {timeout}s")

    # ---------------------------------------------------------- handling ----

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes | None, length: int
    ) -> Answer:
        """One request -> (status, JSON body). `raw` is None when the body was too large."""
        match = _PATH_RE.match(path.split("?", 1)[0])
        if match is None or _METHODS[match["route"]] != method:
            return 404, {"error": f"not found: {method} {path}"}
        route, job_id = match["route"], match["job"]
        if (route in _NEEDS_JOB) != (job_id is not None):
            return 404, {"error": f"not found: {method} {path}"}
        if headers.get("authorization", "") != f"Bearer {self.api_key}":
            return 401, {"error": "Unauthorized"}
        if match["endpoint"] != self.endpoint_id:
            return 404, {"error": f"endpoint {match['endpoint']} not found"}
        if route in ("run", "runsync"):
            return self._submit(route, path, raw, length)
        if route == "health":
            return 200, self.cloud.health()
        if route == "purge-queue":
            return 200, {"removed": self.cloud.purge_queue(), "status": "completed"}
        assert job_id is not None
        if route == "retry":
            job, retried = self.cloud.retry(job_id)
        else:
            job = (self.cloud.get if route == "status" else self.cloud.cancel)(job_id)
        if job is None:
            return 404, {"error": "request does not exist"}
        if route == "status":
            return 200, job.status_body()
        if route == "retry":
            if not retried:
                return 400, {
                    "error": f"job {job_id} is {job.status}: only FAILED or TIMED_OUT retry"
                }
            return 200, {"id": job.id, "status": "IN_QUEUE"}
        return 200, {"id": job.id, "status": job.status}

    def _submit(self, route: str, path: str, raw: bytes | None, length: int) -> Answer:
        limit = self.max_run_body_bytes if route == "run" else self.max_runsync_body_bytes
        with self._lock:
            self._largest_body = max(self._largest_body, length)
        if raw is None or length > limit:
            return 400, {"error": f"request body is {length} bytes, the limit is {limit} bytes"}
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return 400, {"error": f"invalid JSON: {exc}"}
        problem = check_submit_body(body)
        if problem:
            return 400, {"error": problem}
        if route == "run":
            job = self.cloud.submit(body)
            return 200, {"id": job.id, "status": "IN_QUEUE"}  # a worker may have it already
        wait = re.search(r"[?&]wait=(\d+)", path)
        retention = min(max(int(wait[1]), 1000), 300_000) / 1000 if wait else 60.0
        job = self.cloud.submit(body, retention=retention)
        job.done.wait(self.runsync_wait)
        return 200, job.status_body()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeRunPodServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; needs Content-Length

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACKs add 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:  # a dropped connection has nothing left to flush
            pass
        finally:
            self.fake._track(self.connection, add=False)

    def _serve(self) -> None:
        raw, length = self._read_body(
            max(self.fake.max_run_body_bytes, self.fake.max_runsync_body_bytes)
        )
        headers = {k.lower(): v for k, v in self.headers.items()}
        match = _PATH_RE.match(self.path.split("?", 1)[0])
        route = match["route"] if match else "other"
        with self.fake._lock:
            self.fake._requests[route] += 1
        fault = self.fake.script.take_http(route) if match else None
        if fault is not None and fault.kind == "drop":
            return self._drop()
        if fault is not None and fault.kind == "status":
            extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            return self._send(fault.status, fault.body or {"error": f"fault {fault.status}"}, extra)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        try:
            status, body = self.fake.handle(self.command, self.path, headers, raw, length)
        except Exception:  # a bug in the fake must show up as a 500, not a hung client
            log.exception("fake RunPod failed on %s %s", self.command, self.path)
            status, body = 500, {"error": "fake server bug; see the test log"}
        if fault is not None and fault.kind == "drop_after":
            return self._drop()
        self._send(status, body, {})

    def _read_body(self, limit: int) -> tuple[bytes | None, int]:
        """The body and its size; None for a body over `limit` (read to its end, dropped)."""
        parts: list[bytes] = []
        length = 0
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                data = self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
                length += len(data)
                if length <= limit:
                    parts.append(data)
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                data = self.rfile.read(min(remaining, 1024 * 1024))
                if not data:
                    break
                remaining -= len(data)
                length += len(data)
                if length <= limit:
                    parts.append(data)
        return (b"".join(parts) if length <= limit else None), length

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up, or the server is stopping
            self.close_connection = True

    def _drop(self) -> None:
        """Close the socket without a byte of answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


# ------------------------------------------------------------ pytest plugin ----


@pytest.fixture
def runpod_fake() -> Iterator[FakeRunPodServer]:
    """A running fake RunPod endpoint running the real worker handler, fast webhooks."""
    with FakeRunPodServer(webhook_retry_delay=0.05) as server:
        yield server


# ---------------------------------------------------------------- command ----


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake RunPod Serverless API for manual runs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-key", default="fake-runpod-key")
    parser.add_argument("--endpoint-id", default="fake-endpoint")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jobs-per-worker", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = FakeRunPodServer(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        endpoint_id=args.endpoint_id,
        workers=args.workers,
        jobs_per_worker=args.jobs_per_worker,
    )
    with server:
        log.info(
            "set BANANABATCH_RUNPOD_API_URL=%s RUNPOD_API_KEY=%s RUNPOD_ENDPOINT_ID=%s; "
            "Ctrl-C stops",
            server.api_url,
            args.api_key,
            args.endpoint_id,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
