"""The fake's batch controls and counters, driven only through the official
google-genai client: image references in uploaded JSONL, manual runs, the fake clock,
48 h expiry, per-key line faults, lost result files (404, stall), ignored cancels,
list paging, key checks on every route, and the counters tests assert on."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from tests.fakes.gemini import Fault
from tests.fakes.gemini_server import FakeGeminiServer

MODEL = "gemini-3-pro-image"
PENDING = types.JobState.JOB_STATE_PENDING
RUNNING = types.JobState.JOB_STATE_RUNNING
SUCCEEDED = types.JobState.JOB_STATE_SUCCEEDED


def _client(fake: FakeGeminiServer, key: str = "k", timeout_ms: int | None = None) -> genai.Client:
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=fake.base_url,
            timeout=timeout_ms,
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


def _png(size: tuple[int, int], fill: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, fill).save(buf, format="PNG")
    return buf.getvalue()


def _line(key: str, prompt: str, reference: bytes | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": prompt}]
    if reference is not None:
        data = base64.b64encode(reference).decode()
        parts.append({"inlineData": {"mimeType": "image/png", "data": data}})
    return {
        "key": key,
        "request": {
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "seed": 7},
        },
    }


def _create(client: genai.Client, display: str, lines: list[dict[str, Any]]) -> str:
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    src = client.files.upload(file=io.BytesIO(data), config={"mime_type": "application/jsonl"})
    made = client.batches.create(model=MODEL, src=src.name or "", config={"display_name": display})
    assert made.name
    return made.name


def _results(client: genai.Client, job: types.BatchJob) -> dict[str, dict[str, Any]]:
    assert job.dest is not None and job.dest.file_name
    raw = client.files.download(file=job.dest.file_name)
    return {line["key"]: line for line in map(json.loads, raw.splitlines())}


def test_uploaded_jsonl_with_references_runs_like_generate_content(
    gemini_fake: FakeGeminiServer, tmp_path: Path
) -> None:
    client = _client(gemini_fake)
    refs = {f"r{i}": _png((96 + 16 * i, 64), (40 * i, 90, 200)) for i in range(3)}
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(
        "".join(json.dumps(_line(k, f"a barn owl {k}", ref)) + "\n" for k, ref in refs.items())
    )
    src = client.files.upload(file=jsonl, config={"mime_type": "application/jsonl"})
    assert src.source == types.FileSource.UPLOADED and src.expiration_time is not None
    name = client.batches.create(model=MODEL, src=src.name or "", config={"display_name": "refs"})
    assert [client.batches.get(name=name.name or "").state for _ in range(2)] == [
        RUNNING,
        SUCCEEDED,
    ]
    job = client.batches.get(name=name.name or "")
    assert job.dest is not None and job.dest.file_name
    out = tmp_path / "out.jsonl"
    client.files.download(file=job.dest.file_name, destination=out)
    for raw in out.read_bytes().splitlines():
        line = json.loads(raw)
        response = types.GenerateContentResponse.model_validate(line["response"])
        usage = response.usage_metadata
        assert usage is not None and usage.candidates_token_count == 1120
        assert usage.prompt_token_count == 4 + 258  # four words and one reference
        images = [
            p.inline_data.data
            for c in response.candidates or []
            for p in (c.content.parts if c.content else None) or []
            if p.inline_data and p.inline_data.data
        ]
        assert len(images) == 1
        # no content marker: the output has the reference's size, like generateContent
        assert (
            Image.open(io.BytesIO(images[0])).size == Image.open(io.BytesIO(refs[line["key"]])).size
        )
    batch_records = [r for r in gemini_fake.requests if r.route == "batch"]
    assert sorted(r.reference_sizes[0][0] for r in batch_records) == [96, 112, 128]
    assert gemini_fake.calls(route="batch") == 3 and gemini_fake.calls(route="standard") == 0
    assert gemini_fake.calls(model=MODEL, prompt_contains="barn owl") == 3


def test_manual_runs_clock_and_48_hour_expiry(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    controls = gemini_fake.batch_controls
    controls.manual = True
    manual = _create(client, "manual", [_line("m", "p")])
    assert {client.batches.get(name=manual).state for _ in range(5)} == {PENDING}
    assert gemini_fake.run_batches() == [manual]
    assert client.batches.get(name=manual).state == SUCCEEDED

    controls.manual = False
    controls.complete_after = timedelta(hours=2)
    timed = _create(client, "timed", [_line("t", "p")])
    assert {client.batches.get(name=timed).state for _ in range(4)} == {RUNNING}
    gemini_fake.advance(timedelta(hours=2))
    assert client.batches.get(name=timed).state == SUCCEEDED

    controls.hold.add("stuck")
    stuck = _create(client, "stuck", [_line("s", "p")])
    assert gemini_fake.run_batches() == []  # held even against run_batches
    gemini_fake.advance(timedelta(hours=49))
    job = client.batches.get(name=stuck)
    assert job.state == types.JobState.JOB_STATE_EXPIRED and job.dest is None and job.done
    assert gemini_fake.batches.paid_keys == {"m": 1, "t": 1}


def test_line_faults_by_key_and_marker_lines(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    gemini_fake.batch_controls.line_faults.update(
        {
            "quota": Fault.rate_limit(),
            "bad": Fault.http_error(400, "Request contains an invalid argument."),
            "unsafe": Fault.finish("IMAGE_SAFETY"),
            "words": Fault.text_only("no picture today"),
        }
    )
    keys = ["ok", "quota", "bad", "unsafe", "words"]
    name = _create(client, "faults", [_line(k, "a lighthouse") for k in keys])
    gemini_fake.run_batches()
    lines = _results(client, client.batches.get(name=name))
    assert list(lines) == keys  # the input order
    assert lines["quota"]["error"]["code"] == 429
    assert lines["quota"]["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert lines["bad"]["error"] == {
        "code": 400,
        "message": "Request contains an invalid argument.",
        "status": "INVALID_ARGUMENT",
    }
    unsafe = types.GenerateContentResponse.model_validate(lines["unsafe"]["response"])
    assert unsafe.candidates and unsafe.candidates[0].finish_reason == "IMAGE_SAFETY"
    words = types.GenerateContentResponse.model_validate(lines["words"]["response"])
    assert words.text == "no picture today"
    # answered lines are billed, error lines are not
    assert gemini_fake.batches.paid_keys == {"ok": 1, "unsafe": 1, "words": 1}
    assert gemini_fake.calls(route="batch", status=200) == 3
    assert gemini_fake.calls(prompt_contains="lighthouse") == 5


def test_lost_result_file_answers_404_then_stalls_past_the_timeout(
    gemini_fake: FakeGeminiServer,
) -> None:
    controls = gemini_fake.batch_controls
    controls.lose_results["lost"] = 1
    controls.lost_status = 404
    client = _client(gemini_fake)
    name = _create(client, "lost-1", [_line("a", "p")])
    gemini_fake.run_batches()
    job = client.batches.get(name=name)
    assert job.state == SUCCEEDED and job.dest is not None and job.dest.file_name
    with pytest.raises(errors.ClientError) as missing:
        client.files.download(file=job.dest.file_name)
    assert missing.value.code == 404
    assert "a" in _results(client, job)  # then it is back

    controls.lose_results["lost"] = 1
    controls.lost_stall = 2.0
    slow = _client(gemini_fake, timeout_ms=300)
    name = _create(slow, "lost-2", [_line("b", "p")])
    gemini_fake.run_batches()
    job = slow.batches.get(name=name)
    with pytest.raises(httpx2.TimeoutException):
        slow.files.download(file=job.dest.file_name if job.dest else "")
    assert "b" in _results(slow, job)
    assert gemini_fake.downloads == 4
    assert gemini_fake.batches.api_calls["files.download"] == 4
    assert gemini_fake.batches.paid_keys == {"a": 1, "b": 1}  # nothing re-bought


def test_cancel_ignored_and_delete(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    gemini_fake.batch_controls.ignore_cancel.add("late")
    late = _create(client, "late", [_line("l", "p")])
    client.batches.cancel(name=late)
    gemini_fake.run_batches()
    assert client.batches.get(name=late).state == SUCCEEDED
    gemini_fake.batch_controls.hold.add("soon")
    soon = _create(client, "soon", [_line("s", "p")])
    client.batches.cancel(name=soon)
    assert gemini_fake.run_batches() == []
    assert client.batches.get(name=soon).state == types.JobState.JOB_STATE_CANCELLED
    client.batches.delete(name=soon)
    with pytest.raises(errors.ClientError) as gone:
        client.batches.get(name=soon)
    assert gone.value.code == 404
    assert gemini_fake.batches.paid_keys == {"l": 1}


def test_cancel_while_lines_run_bills_them_and_gives_no_results(
    gemini_fake: FakeGeminiServer,
) -> None:
    client = _client(gemini_fake)
    gemini_fake.batch_controls.line_faults["slow"] = Fault.latency(0.5)
    name = _create(client, "racing", [_line("fast", "p"), _line("slow", "p")])
    runner = threading.Thread(target=gemini_fake.run_batches)
    runner.start()
    deadline = time.monotonic() + 5
    while not gemini_fake.batches.paid_keys and time.monotonic() < deadline:
        time.sleep(0.01)  # the first line is done, the second is running
    client.batches.cancel(name=name)
    runner.join(5)
    job = client.batches.get(name=name)
    assert job.state == types.JobState.JOB_STATE_CANCELLED and job.dest is None
    assert gemini_fake.batches.paid_keys == {"fast": 1, "slow": 1}


def test_list_pages_and_counters(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    gemini_fake.batch_controls.manual = True
    for i in range(5):
        _create(client, f"job-{i % 2}", [_line(f"k{i}", "p")])
    pager = client.batches.list(config={"page_size": 2})
    names = [job.display_name for job in pager]
    assert names == ["job-0", "job-1", "job-0", "job-1", "job-0"]  # newest first
    assert [n for n in names if n == "job-0"] == ["job-0"] * 3
    assert gemini_fake.batches.created == {"job-0": 3, "job-1": 2}
    assert gemini_fake.run_batches() and gemini_fake.batches.paid_keys.total() == 5
    assert gemini_fake.batches.api_calls == {
        "files.upload": 5,
        "batches.create": 5,
        "batches.list": 3,  # pages of 2, 2 and 1
    }
    assert gemini_fake.hits(":batchGenerateContent", method="POST") == 5


def test_every_route_checks_the_key(gemini_fake: FakeGeminiServer) -> None:
    good = _client(gemini_fake)
    name = _create(good, "keys", [_line("x", "p")])
    gemini_fake.run_batches()
    job = good.batches.get(name=name)
    result = job.dest.file_name if job.dest else ""
    gemini_fake.bad_api_keys.add("wrong")
    gemini_fake.denied_api_keys.add("blocked")
    before = dict(gemini_fake.batches.api_calls)
    for key, code in (("wrong", 400), ("blocked", 403)):
        client = _client(gemini_fake, key)
        attempts = [
            lambda c=client: c.files.upload(
                file=io.BytesIO(b"{}\n"), config={"mime_type": "application/jsonl"}
            ),
            lambda c=client: c.files.get(name=result or ""),
            lambda c=client: c.files.download(file=result or ""),
            lambda c=client: c.files.delete(name=result or ""),
            lambda c=client: c.batches.create(
                model=MODEL, src=[types.InlinedRequest(contents="p")]
            ),
            lambda c=client: c.batches.get(name=name),
            lambda c=client: list(c.batches.list()),
            lambda c=client: c.batches.cancel(name=name),
            lambda c=client: c.batches.delete(name=name),
        ]
        for attempt in attempts:
            with pytest.raises(errors.ClientError) as refused:
                attempt()
            assert refused.value.code == code
    assert gemini_fake.batches.api_calls == before  # refused calls are not counted
    assert good.batches.get(name=name).state == SUCCEEDED


def test_async_client_downloads_and_lists(gemini_fake: FakeGeminiServer) -> None:
    async def go() -> tuple[bytes, list[str | None]]:
        client = _client(gemini_fake).aio
        data = json.dumps(_line("a", "an owl", _png((32, 32), (1, 2, 3)))).encode() + b"\n"
        uploaded = await client.files.upload(
            file=io.BytesIO(data), config={"mime_type": "application/jsonl"}
        )
        made = await client.batches.create(
            model=MODEL, src=uploaded.name or "", config={"display_name": "aio-dl"}
        )
        gemini_fake.run_batches()
        job = await client.batches.get(name=made.name or "")
        raw = await client.files.download(file=job.dest.file_name if job.dest else "")
        listed = [b.display_name async for b in await client.batches.list()]
        await client.aclose()
        return raw, listed

    raw, listed = asyncio.run(go())
    assert json.loads(raw)["key"] == "a" and listed == ["aio-dl"]
    assert gemini_fake.batches.paid_keys == {"a": 1}


def test_files_list_pages_and_forgets_expired_files(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    name = _create(client, "listed", [_line("f", "p")])
    gemini_fake.run_batches()
    result = client.batches.get(name=name).dest
    gemini_fake.advance(timedelta(hours=1))
    client.files.upload(file=io.BytesIO(b"{}\n"), config={"mime_type": "application/jsonl"})
    listed = list(client.files.list(config={"page_size": 1}))
    assert len(listed) == 3 and gemini_fake.batches.api_calls["files.list"] == 3
    assert listed[0].source == types.FileSource.UPLOADED  # newest first
    generated = [f for f in listed if f.download_uri]
    assert [f.name for f in generated] == [result.file_name if result else None]
    assert generated[0].source == types.FileSource.GENERATED
    gemini_fake.advance(timedelta(hours=47, minutes=30))  # the first two are 48.5 h old
    assert len(list(client.files.list())) == 1
