"""The real google-genai client against the fake Gemini REST server, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from bananabatch.config import Settings
from bananabatch.contracts import ErrorKind, GenerationOptions
from bananabatch.errors import ValidationFailed
from bananabatch.providers.base import (
    BlockedError,
    GeneratedImage,
    GenerationRequest,
    InvalidRequestError,
    NoImageError,
    RateLimitedError,
    ReferenceImage,
    TransientError,
)
from bananabatch.providers.classic import ClassicProvider
from bananabatch.providers.factory import make_provider
from bananabatch.providers.gemini import GeminiProvider
from tests.fakes.gemini_server import FakeGeminiServer, Fault

MODEL = "gemini-2.5-flash-image"
ROOT = Path(__file__).resolve().parents[2]


def _image(
    fmt: str, size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (200, 10, 10)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def _request(
    prompt: str = "a banana on a beach",
    *,
    seed: int = 7,
    references: list[ReferenceImage] | None = None,
    model: str = MODEL,
    **options: object,
) -> GenerationRequest:
    return GenerationRequest(
        model=model,
        prompt=prompt,
        seed=seed,
        references=references if references is not None else [],
        options=GenerationOptions.model_validate(options),
    )


def _png_text(image: GeneratedImage) -> dict[str, str]:
    with Image.open(io.BytesIO(image.data)) as img:
        return {str(k): str(v) for k, v in getattr(img, "text", {}).items()}


@pytest.fixture
async def provider(gemini_fake: FakeGeminiServer) -> AsyncIterator[GeminiProvider]:
    p = GeminiProvider(api_key="test-key", base_url=gemini_fake.base_url, timeout_seconds=5)
    yield p
    await p.aclose()


# --------------------------------------------------------------- success ----


@pytest.mark.parametrize("api_version", ["v1beta", "v1"])
async def test_generates_an_image_on_both_api_versions(
    gemini_fake: FakeGeminiServer, api_version: str
) -> None:
    provider = GeminiProvider(
        api_key="test-key", base_url=gemini_fake.base_url, api_version=api_version
    )
    try:
        ref = ReferenceImage(data=_image("JPEG", (64, 48)), mime_type="image/jpeg")
        image = await provider.generate(_request("a cat in a hat", seed=11, references=[ref]))
    finally:
        await provider.aclose()

    assert image.mime_type == "image/png"
    assert (image.width, image.height) == (64, 48)  # the fake answers at the reference's size
    assert image.usage.input_tokens > 0
    assert image.usage.output_tokens == 1290
    assert image.usage.total_tokens == image.usage.input_tokens + 1290
    assert _png_text(image)["fake-gemini"] == "final"

    (call,) = gemini_fake.requests
    assert call.api_version == api_version
    assert call.model == MODEL
    assert call.api_key == "test-key"  # sent as the x-goog-api-key header
    assert call.headers.get("x-goog-api-key") == "test-key"
    assert call.prompt == "a cat in a hat"
    assert call.seed == 11
    assert call.response_modalities == ["TEXT", "IMAGE"]
    assert call.outcome == "image"


async def test_different_prompts_give_different_images(provider: GeminiProvider) -> None:
    a = await provider.generate(_request("one"))
    b = await provider.generate(_request("two"))
    assert a.data != b.data


async def test_reference_mime_types_and_bytes_arrive_as_sent(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    refs = [
        ReferenceImage(data=_image("JPEG"), mime_type="image/jpeg", name="a.jpg"),
        ReferenceImage(data=_image("PNG"), mime_type="image/png", name="b.png"),
        ReferenceImage(data=_image("WEBP"), mime_type="image/webp", name="c.webp"),
    ]
    await provider.generate(_request(references=refs))
    (call,) = gemini_fake.requests
    assert call.reference_mime_types == ["image/jpeg", "image/png", "image/webp"]
    assert call.reference_sha256 == [hashlib.sha256(r.data).hexdigest() for r in refs]


async def test_image_config_is_sent_only_when_options_are_given(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    await provider.generate(_request())
    await provider.generate(_request(aspect_ratio="16:9"))
    await provider.generate(_request(aspect_ratio="1:1", image_size="2K"))
    bare, ratio, both = gemini_fake.requests
    assert bare.image_config is None
    assert "imageConfig" not in bare.body.get("generationConfig", {})
    assert ratio.image_config == {"aspectRatio": "16:9"}
    assert both.image_config == {"aspectRatio": "1:1", "imageSize": "2K"}


async def test_text_to_image_uses_the_aspect_ratio(provider: GeminiProvider) -> None:
    image = await provider.generate(_request(aspect_ratio="16:9"))
    assert (image.width, image.height) == (256, 144)


async def test_thought_parts_are_skipped(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.script.push(Fault.thoughts(2))
    image = await provider.generate(_request())
    assert _png_text(image)["fake-gemini"] == "final"
    assert image.usage.output_tokens == 1290 + 80  # thinking tokens are billed as output
    marked = await provider.generate(_request("draw [[thoughts:3]]"))
    assert _png_text(marked)["fake-gemini"] == "final"


async def test_several_image_parts_keep_the_last(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.script.push(Fault.images(3))
    image = await provider.generate(_request())
    assert _png_text(image)["fake-gemini"] == "final"
    marked = await provider.generate(_request("draw [[images:4]]"))
    assert _png_text(marked)["fake-gemini"] == "final"


async def test_output_format_is_converted_when_asked(provider: GeminiProvider) -> None:
    image = await provider.generate(_request(output_format="jpeg"))
    assert image.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(image.data)) as img:
        assert img.format == "JPEG"


# ---------------------------------------------------------------- faults ----


async def test_rate_limit_carries_retry_info(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.script.push(Fault.rate_limit(retry_delay="37s"))
    gemini_fake.script.push(Fault.rate_limit(retry_delay="1.5s"))
    gemini_fake.script.push(Fault.rate_limit(retry_delay=None))
    with pytest.raises(RateLimitedError) as first:
        await provider.generate(_request())
    assert first.value.retry_after == 37.0
    assert first.value.kind is ErrorKind.rate_limited
    with pytest.raises(RateLimitedError) as second:
        await provider.generate(_request())
    assert second.value.retry_after == 1.5
    with pytest.raises(RateLimitedError) as third:
        await provider.generate(_request())
    assert third.value.retry_after is None
    # the SDK did not retry on its own: exactly one HTTP call per generate()
    assert gemini_fake.calls() == 3
    assert (await provider.generate(_request())).width > 0


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_transient_and_not_retried_by_the_sdk(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer, status: int
) -> None:
    gemini_fake.script.push(Fault.server_error(status))
    with pytest.raises(TransientError) as info:
        await provider.generate(_request())
    assert str(status) in info.value.message
    assert gemini_fake.calls() == 1


async def test_prompt_block(provider: GeminiProvider, gemini_fake: FakeGeminiServer) -> None:
    gemini_fake.script.push(Fault.prompt_blocked("PROHIBITED_CONTENT", "not allowed here"))
    with pytest.raises(BlockedError) as info:
        await provider.generate(_request())
    assert "PROHIBITED_CONTENT" in info.value.message
    assert "not allowed here" in info.value.message


@pytest.mark.parametrize("reason", ["IMAGE_SAFETY", "PROHIBITED_CONTENT", "SAFETY"])
async def test_finish_reason_blocks(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer, reason: str
) -> None:
    gemini_fake.script.push(Fault.finish(reason))
    with pytest.raises(BlockedError, match=reason):
        await provider.generate(_request())


async def test_text_only_and_no_image(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.script.push(Fault.text_only("Here is a poem instead."))
    gemini_fake.script.push(Fault.no_image("Could not draw that."))
    with pytest.raises(NoImageError, match=r"Here is a poem instead\."):
        await provider.generate(_request())
    with pytest.raises(NoImageError, match=r"NO_IMAGE.*Could not draw that\."):
        await provider.generate(_request())


async def test_invalid_request_shows_the_api_message(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.script.push(Fault.http_error(400, "Unsupported aspect ratio 7:3."))
    with pytest.raises(InvalidRequestError, match=r"Unsupported aspect ratio 7:3\."):
        await provider.generate(_request())


async def test_slow_answer_times_out_as_transient(gemini_fake: FakeGeminiServer) -> None:
    provider = GeminiProvider(api_key="k", base_url=gemini_fake.base_url, timeout_seconds=0.5)
    gemini_fake.script.push(Fault.latency(3.0))
    try:
        with pytest.raises(TransientError, match="timed out"):
            await provider.generate(_request())
    finally:
        await provider.aclose()


async def test_latency_is_injected(provider: GeminiProvider, gemini_fake: FakeGeminiServer) -> None:
    gemini_fake.script.push(Fault.latency(0.3))
    started = time.monotonic()
    await provider.generate(_request())
    assert time.monotonic() - started >= 0.3


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    provider = GeminiProvider(api_key="k", base_url=f"http://127.0.0.1:{port}", timeout_seconds=2)
    try:
        with pytest.raises(TransientError, match="connection failed"):
            await provider.generate(_request())
    finally:
        await provider.aclose()


async def test_wrong_api_key_is_invalid() -> None:
    with FakeGeminiServer(expected_api_key="right") as server:
        provider = GeminiProvider(api_key="wrong", base_url=server.base_url)
        try:
            with pytest.raises(InvalidRequestError, match="API key not valid"):
                await provider.generate(_request())
        finally:
            await provider.aclose()


# ---------------------------------------------------------------- script ----


async def test_script_rules_are_per_model_and_count_limited(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    other = "gemini-3-pro-image-preview"
    gemini_fake.script.push(Fault.server_error(503), model=other, times=2)
    assert gemini_fake.script.pending == 2
    assert (await provider.generate(_request())).width > 0  # MODEL is unaffected
    for _ in range(2):
        with pytest.raises(TransientError):
            await provider.generate(_request(model=other))
    assert (await provider.generate(_request(model=other))).width > 0
    assert gemini_fake.script.pending == 0
    assert gemini_fake.calls(model=other) == 3


async def test_script_rule_without_limit_lasts_until_cleared(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    gemini_fake.script.push(Fault.finish("IMAGE_SAFETY"), times=None)
    for _ in range(3):
        with pytest.raises(BlockedError):
            await provider.generate(_request())
    gemini_fake.reset()
    assert gemini_fake.requests == []
    assert (await provider.generate(_request())).width > 0


# --------------------------------------------------------------- markers ----


async def test_marker_fails_the_first_calls_of_that_prompt_and_seed(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    prompt = "a dog [[429x2:0.5s]]"
    for _ in range(2):
        with pytest.raises(RateLimitedError) as info:
            await provider.generate(_request(prompt, seed=1))
        assert info.value.retry_after == 0.5
    # a different seed is a different slot: its own counter
    with pytest.raises(RateLimitedError):
        await provider.generate(_request(prompt, seed=2))
    assert (await provider.generate(_request(prompt, seed=1))).width > 0
    assert [r.outcome for r in gemini_fake.requests] == ["http_429"] * 3 + ["image"]


async def test_marker_429_uses_the_default_retry_delay(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    with pytest.raises(RateLimitedError) as info:
        await provider.generate(_request("[[429x1]]"))
    assert info.value.retry_after == 0.05  # the fixture's default_retry_delay


@pytest.mark.parametrize(
    ("marker", "error", "text"),
    [
        ("[[500x1]]", TransientError, "500"),
        ("[[503x1]]", TransientError, "503"),
        ("[[block]]", BlockedError, "SAFETY"),
        ("[[block:PROHIBITED_CONTENT]]", BlockedError, "PROHIBITED_CONTENT"),
        ("[[image-safety]]", BlockedError, "IMAGE_SAFETY"),
        ("[[finish:IMAGE_PROHIBITED_CONTENT]]", BlockedError, "IMAGE_PROHIBITED_CONTENT"),
        ("[[text-only]]", NoImageError, "STOP"),
        ("[[no-image]]", NoImageError, "NO_IMAGE"),
        ("[[400]]", InvalidRequestError, "400"),
    ],
)
async def test_prompt_markers(
    provider: GeminiProvider, marker: str, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        await provider.generate(_request(f"a fox {marker}"))


async def test_counted_markers_recover_and_permanent_ones_do_not(provider: GeminiProvider) -> None:
    with pytest.raises(TransientError):
        await provider.generate(_request("[[500x1]]"))
    assert (await provider.generate(_request("[[500x1]]"))).width > 0
    for _ in range(2):
        with pytest.raises(InvalidRequestError):
            await provider.generate(_request("[[400]]"))


async def test_slow_marker(provider: GeminiProvider) -> None:
    started = time.monotonic()
    await provider.generate(_request("a slow snail [[slow:0.3]]"))
    assert time.monotonic() - started >= 0.3


async def test_concurrent_calls_are_served_in_parallel(
    provider: GeminiProvider, gemini_fake: FakeGeminiServer
) -> None:
    results = await asyncio.gather(
        *(provider.generate(_request(f"p{i} [[slow:0.3]]", seed=i)) for i in range(6))
    )
    assert len({r.data for r in results}) == 6
    assert gemini_fake.max_in_flight >= 2


# -------------------------------------------------------- wire protocol ----


def _raw_body(data: str, mime_key: str = "mimeType", text: str = "hello") -> dict[str, object]:
    return {
        "contents": [
            {
                "role": "user",
                "parts": [{"inline_data": {mime_key: "image/jpeg", "data": data}}, {"text": text}],
            }
        ]
    }


@pytest.mark.parametrize("mime_key", ["mimeType", "mime_type"])
@pytest.mark.parametrize("encoder", [base64.b64encode, base64.urlsafe_b64encode])
def test_fake_accepts_both_mime_spellings_and_base64_alphabets(
    gemini_fake: FakeGeminiServer, mime_key: str, encoder: object
) -> None:
    assert callable(encoder)
    # bytes chosen so the standard and URL-safe encodings differ
    jpeg = _image("JPEG", (33, 17), (250, 251, 252)) + b"\xfb\xff\xfe"
    data = encoder(jpeg).decode().rstrip("=")
    url = f"{gemini_fake.base_url}/v1beta/models/{MODEL}:generateContent"
    resp = httpx.post(url, json=_raw_body(data, mime_key), headers={"x-goog-api-key": "k"})
    assert resp.status_code == 200, resp.text
    (call,) = gemini_fake.requests
    assert call.reference_mime_types == ["image/jpeg"]
    assert call.reference_sha256 == [hashlib.sha256(jpeg).hexdigest()]
    assert call.reference_sizes == [(33, 17)]
    part = resp.json()["candidates"][0]["content"]["parts"][-1]
    assert part["inlineData"]["mimeType"] == "image/png"


def test_fake_requires_an_api_key_and_a_known_path(gemini_fake: FakeGeminiServer) -> None:
    url = f"{gemini_fake.base_url}/v1beta/models/{MODEL}:generateContent"
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    no_key = httpx.post(url, json=body)
    assert no_key.status_code == 403
    assert no_key.json()["error"]["status"] == "PERMISSION_DENIED"
    query_key = httpx.post(url + "?key=abc", json=body)
    assert query_key.status_code == 200
    wrong_path = httpx.post(f"{gemini_fake.base_url}/v2/models/{MODEL}:generate", json=body)
    assert wrong_path.status_code == 404
    bad_b64 = httpx.post(url, json=_raw_body("***"), headers={"x-goog-api-key": "k"})
    assert bad_b64.status_code == 400
    bad_json = httpx.post(url, content=b"{nope", headers={"x-goog-api-key": "k"})
    assert bad_json.status_code == 400


def test_rate_limit_wire_format(gemini_fake: FakeGeminiServer) -> None:
    gemini_fake.script.push(Fault.rate_limit(retry_delay="37s"))
    url = f"{gemini_fake.base_url}/v1/models/{MODEL}:generateContent"
    resp = httpx.post(
        url, json={"contents": [{"parts": [{"text": "x"}]}]}, headers={"x-goog-api-key": "k"}
    )
    assert resp.status_code == 429
    error = resp.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    retry = [d for d in error["details"] if d["@type"].endswith("google.rpc.RetryInfo")]
    assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]


def test_context_manager_stops_cleanly_and_frees_the_port() -> None:
    body = {"contents": [{"parts": [{"text": "x"}]}]}
    headers = {"x-goog-api-key": "k"}
    with httpx.Client() as idle_client:
        with FakeGeminiServer() as server:
            port = server.port
            url = f"{server.base_url}/v1beta/models/{MODEL}:generateContent"
            # an idle keep-alive connection stays open in the client's pool
            assert idle_client.post(url, json=body, headers=headers).status_code == 200
            # and one handler is still sleeping on injected latency when we stop
            server.script.push(Fault.latency(30))
            slow = threading.Thread(
                target=_post_quietly,
                args=(url, body, headers),
                daemon=True,
            )
            slow.start()
            deadline = time.monotonic() + 5
            while server.script.pending and time.monotonic() < deadline:
                time.sleep(0.01)
            started = time.monotonic()
        assert time.monotonic() - started < 5  # stop did not wait for the 30 s sleeper
        slow.join(timeout=5)
        assert not slow.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/v1beta/models/{MODEL}:generateContent", json={})
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


def _post_quietly(url: str, body: dict[str, object], headers: dict[str, str]) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(url, json=body, headers=headers, timeout=10)


# ---------------------------------------------------------- CLI, fixtures ----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_command_line_server_runs_and_stops_on_sigterm() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gemini_server", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1beta/models/{MODEL}:generateContent"
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = httpx.post(
                    url,
                    json={"contents": [{"parts": [{"text": "hello"}]}]},
                    headers={"x-goog-api-key": "k"},
                )
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert resp.status_code == 200
        assert resp.json()["candidates"][0]["finishReason"] == "STOP"
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert b"fake Gemini listening on" in output


def test_gemini_env_fixture_points_settings_at_the_fake(
    gemini_env: FakeGeminiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.gemini_base_url == gemini_env.base_url
    assert settings.gemini_configured
    assert settings.resolved_provider == "gemini"


# --------------------------------------------------------------- factory ----


async def test_factory_builds_a_working_gemini_provider(
    gemini_fake: FakeGeminiServer, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        gemini_api_key=SecretStr("factory-key"),
        gemini_base_url=gemini_fake.base_url,
        gemini_api_version="v1",
        gemini_timeout_seconds=5,
    )
    provider = make_provider("gemini", settings)
    try:
        assert provider.name == "gemini"
        assert (await provider.generate(_request())).width > 0
    finally:
        await provider.aclose()
    (call,) = gemini_fake.requests
    assert call.api_version == "v1"
    assert call.api_key == "factory-key"


def test_factory_without_a_key_asks_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "BANANABATCH_GEMINI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationFailed, match="Set GEMINI_API_KEY"):
        make_provider("gemini", Settings(data_dir=tmp_path))
    with pytest.raises(ValidationFailed, match="Set GEMINI_API_KEY"):
        make_provider("gemini", Settings(data_dir=tmp_path, gemini_api_key=SecretStr("  ")))


def test_factory_classic_needs_nothing(tmp_path: Path) -> None:
    provider = make_provider("classic", Settings(data_dir=tmp_path))
    assert isinstance(provider, ClassicProvider)
    assert provider.name == "classic"
