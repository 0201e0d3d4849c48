"""The fake's Files and Batch APIs, driven only through the official google-genai
client (sync and `aio`), so the shapes are the ones the SDK sends and parses."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini_server import FakeGeminiServer

MODEL = "gemini-3-pro-image"


def _client(fake: FakeGeminiServer, key: str = "k") -> genai.Client:
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=fake.base_url,
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


def _line(key: str, prompt: str, seed: int) -> dict[str, Any]:
    return {
        "key": key,
        "request": {
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "generationConfig": {"responseModalities": ["IMAGE"], "seed": seed},
        },
    }


def _upload(client: genai.Client, lines: list[dict[str, Any]]) -> str:
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    uploaded = client.files.upload(
        file=io.BytesIO(data), config={"mime_type": "application/jsonl", "display_name": "in"}
    )
    assert uploaded.name is not None and uploaded.size_bytes == len(data)
    return uploaded.name


def _run(client: genai.Client, name: str, reads: int = 3) -> types.BatchJob:
    job = client.batches.get(name=name)
    for _ in range(reads):
        if job.done:
            break
        job = client.batches.get(name=name)
    return job


def test_file_batch_runs_and_results_parse_as_responses(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    src = _upload(client, [_line(f"k{i}", f"a red fox {i}", i) for i in range(3)])
    assert client.files.get(name=src).state == types.FileState.ACTIVE
    made = client.batches.create(model=MODEL, src=src, config={"display_name": "job-a-0"})
    assert made.state == types.JobState.JOB_STATE_PENDING and made.display_name == "job-a-0"
    done = _run(client, made.name or "")
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest is not None and done.dest.file_name
    keys = []
    for raw in client.files.download(file=done.dest.file_name).splitlines():
        line = json.loads(raw)
        response = types.GenerateContentResponse.model_validate(line["response"])
        assert response.usage_metadata is not None
        assert response.usage_metadata.candidates_token_count == 1120  # Pro at 1K
        parts = response.candidates[0].content.parts if response.candidates else None
        assert parts and any(p.inline_data and p.inline_data.data for p in parts)
        keys.append(line["key"])
    assert keys == ["k0", "k1", "k2"]
    assert gemini_fake.batches.paid_keys == {"k0": 1, "k1": 1, "k2": 1}
    assert gemini_fake.batches.created["job-a-0"] == 1
    assert gemini_fake.calls(prompt_contains="a red fox") == 3


def test_per_line_errors_and_inline_requests(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    made = client.batches.create(
        model=MODEL,
        src=[
            types.InlinedRequest(
                contents="a calm lake", metadata={"key": "ok"}, config={"seed": 1}
            ),
            types.InlinedRequest(contents="[[block]] a lake", metadata={"key": "blocked"}),
            types.InlinedRequest(contents="[[500]] a lake", metadata={"key": "err"}),
        ],
        config={"display_name": "inline-1"},
    )
    done = _run(client, made.name or "")
    assert done.dest is not None and done.dest.inlined_responses is not None
    by_key = {(r.metadata or {})["key"]: r for r in done.dest.inlined_responses}
    assert by_key["ok"].response is not None and by_key["ok"].error is None
    blocked = by_key["blocked"].response
    assert blocked is not None and blocked.prompt_feedback is not None
    assert by_key["err"].error is not None and by_key["err"].error.code == 500
    # a block is answered (billed); an error line is not
    assert gemini_fake.batches.paid_keys == {"ok": 1, "blocked": 1}


def test_list_pages_by_newest_and_cancel(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    gemini_fake.batch_controls.hold.add("held")
    names = [
        client.batches.create(
            model=MODEL, src=_upload(client, [_line("x", "p", 1)]), config={"display_name": d}
        ).name
        for d in ("held-1", "held-2", "held-3")
    ]
    seen = [job.display_name for job in client.batches.list(config={"page_size": 2})]
    assert seen == ["held-3", "held-2", "held-1"]
    assert _run(client, names[0] or "").state == types.JobState.JOB_STATE_PENDING
    client.batches.cancel(name=names[0] or "")
    assert client.batches.get(name=names[0] or "").state == types.JobState.JOB_STATE_CANCELLED
    assert gemini_fake.batches.paid_keys == {}


def test_expired_failed_and_lost_results(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    controls = gemini_fake.batch_controls
    controls.expire.add("old")
    controls.fail.add("bad")
    controls.lose_results["lost"] = 2  # two downloads fail, then the file is back
    controls.lose_results["gone"] = -1
    states = {}
    for name in ("old", "bad", "lost", "gone"):
        made = client.batches.create(
            model=MODEL, src=_upload(client, [_line(name, "p", 1)]), config={"display_name": name}
        )
        states[name] = _run(client, made.name or "")
    assert states["old"].state == types.JobState.JOB_STATE_EXPIRED and not states["old"].dest
    assert states["bad"].state == types.JobState.JOB_STATE_FAILED
    lost = states["lost"].dest.file_name if states["lost"].dest else None
    assert lost
    for _ in range(2):
        with pytest.raises(errors.ServerError):
            client.files.download(file=lost)
    assert json.loads(client.files.download(file=lost))["key"] == "lost"
    gone = states["gone"].dest.file_name if states["gone"].dest else ""
    with pytest.raises(errors.ServerError):
        client.files.download(file=gone or "")
    assert gemini_fake.batches.paid_keys == {"lost": 1, "gone": 1}  # billed all the same


def test_files_expire_after_48_hours_and_keys_are_checked(gemini_fake: FakeGeminiServer) -> None:
    client = _client(gemini_fake)
    src = _upload(client, [_line("x", "p", 1)])
    gemini_fake.advance(timedelta(hours=49))
    with pytest.raises(errors.ClientError) as missing:
        client.files.get(name=src)
    assert missing.value.code == 404
    gemini_fake.bad_api_keys.add("wrong")
    wrong = _client(gemini_fake, "wrong")
    with pytest.raises(errors.ClientError) as refused:
        list(wrong.batches.list())
    assert refused.value.code == 400


def test_async_client_speaks_the_same(gemini_fake: FakeGeminiServer) -> None:
    async def go() -> types.BatchJob:
        client = _client(gemini_fake).aio
        data = json.dumps(_line("a", "an owl", 3)).encode() + b"\n"
        uploaded = await client.files.upload(
            file=io.BytesIO(data), config={"mime_type": "application/jsonl"}
        )
        made = await client.batches.create(
            model=MODEL, src=uploaded.name or "", config={"display_name": "aio"}
        )
        job = made
        for _ in range(3):
            job = await client.batches.get(name=made.name or "")
        await client.aclose()
        return job

    job = asyncio.run(go())
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert gemini_fake.batches.paid_keys == {"a": 1}
