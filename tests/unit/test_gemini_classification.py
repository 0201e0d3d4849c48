"""Gemini outcome classification, tested on SDK objects directly (no HTTP)."""

from __future__ import annotations

import base64
import io
from typing import Any

import aiohttp
import httpx
import httpx2
import pytest
from google.genai import errors as genai_errors
from google.genai import types
from PIL import Image

from bananabatch.contracts import ErrorKind, GenerationOptions
from bananabatch.errors import ValidationFailed
from bananabatch.providers.base import (
    BlockedError,
    GeneratedImage,
    GenerationRequest,
    InvalidRequestError,
    NoImageError,
    ProviderError,
    RateLimitedError,
    ReferenceImage,
    TransientError,
)
from bananabatch.providers.gemini import GeminiProvider, build_config, build_contents
from bananabatch.providers.gemini_answers import (
    BLOCK_FINISH_REASONS,
    convert_format,
    image_from_response,
    usage_from_response,
)
from bananabatch.providers.gemini_errors import (
    classify_api_error,
    classify_exception,
    parse_duration,
    retry_delay_from_details,
)


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def _image_part(data: bytes, *, thought: bool = False, mime: str = "image/png") -> dict[str, Any]:
    part: dict[str, Any] = {
        "inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}
    }
    if thought:
        part["thought"] = True
    return part


def _response(body: dict[str, Any]) -> types.GenerateContentResponse:
    """Parse a wire-format (camelCase) body the way the SDK does."""
    return types.GenerateContentResponse.model_validate(body)


def _candidate(parts: list[dict[str, Any]], finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    return {"content": {"role": "model", "parts": parts}, "finishReason": finish, **extra}


def _colour_of(image: GeneratedImage) -> tuple[int, ...]:
    with Image.open(io.BytesIO(image.data)) as img:
        pixel = img.convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel


# ------------------------------------------------------------- success ----


def test_image_is_returned_with_size_mime_usage_and_text() -> None:
    body = {
        "candidates": [_candidate([{"text": "Here you go."}, _image_part(_png((255, 0, 0)))])],
        "usageMetadata": {
            "promptTokenCount": 270,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1560,
        },
    }
    image = image_from_response(_response(body))
    assert (image.width, image.height) == (8, 6)
    assert image.mime_type == "image/png"
    assert image.text == "Here you go."
    assert image.usage.input_tokens == 270
    assert image.usage.output_tokens == 1290
    assert image.usage.total_tokens == 1560
    assert _colour_of(image) == (255, 0, 0)


def test_thought_parts_are_skipped_and_the_last_final_image_wins() -> None:
    body = {
        "candidates": [
            _candidate(
                [
                    {"text": "planning the scene", "thought": True},
                    _image_part(_png((9, 9, 9)), thought=True),
                    _image_part(_png((0, 255, 0))),
                    _image_part(_png((0, 0, 255), size=(10, 4))),
                    _image_part(_png((1, 1, 1)), thought=True),  # a late draft is still a draft
                ]
            )
        ]
    }
    image = image_from_response(_response(body))
    assert _colour_of(image) == (0, 0, 255)
    assert (image.width, image.height) == (10, 4)
    assert image.text is None  # thought text is never shown as the model's answer


def test_mime_type_comes_from_the_bytes_when_the_label_is_wrong() -> None:
    body = {"candidates": [_candidate([_image_part(_png((1, 2, 3), fmt="JPEG"))])]}
    assert image_from_response(_response(body)).mime_type == "image/jpeg"


def test_thinking_tokens_count_as_output() -> None:
    body = {
        "candidates": [_candidate([_image_part(_png((1, 2, 3)))])],
        "usageMetadata": {
            "promptTokenCount": 10,
            "candidatesTokenCount": 1290,
            "thoughtsTokenCount": 200,
        },
    }
    usage = usage_from_response(_response(body))
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (10, 1490, 1500)


def test_missing_usage_is_zero() -> None:
    body = {"candidates": [_candidate([_image_part(_png((1, 2, 3)))])]}
    assert usage_from_response(_response(body)).total_tokens == 0


# ------------------------------------------------------------- blocked ----


def test_prompt_block_reason_is_blocked_with_reason_and_message() -> None:
    body = {
        "promptFeedback": {
            "blockReason": "PROHIBITED_CONTENT",
            "blockReasonMessage": "The prompt is not allowed.",
            "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "blocked": True},
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
            ],
        }
    }
    with pytest.raises(BlockedError) as info:
        image_from_response(_response(body))
    assert info.value.kind is ErrorKind.blocked
    assert "prompt" in info.value.message
    assert "PROHIBITED_CONTENT" in info.value.message
    assert "The prompt is not allowed." in info.value.message
    assert "HARM_CATEGORY_DANGEROUS_CONTENT" in info.value.message
    assert "HARASSMENT" not in info.value.message


def test_prompt_block_wins_even_if_an_image_came_back() -> None:
    body = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "candidates": [_candidate([_image_part(_png((1, 2, 3)))])],
    }
    with pytest.raises(BlockedError, match=r"\(SAFETY\)"):
        image_from_response(_response(body))


@pytest.mark.parametrize("reason", sorted(BLOCK_FINISH_REASONS))
def test_every_policy_finish_reason_is_blocked(reason: str) -> None:
    body = {"candidates": [{"finishReason": reason, "finishMessage": "policy says no"}]}
    with pytest.raises(BlockedError) as info:
        image_from_response(_response(body))
    assert reason in info.value.message
    assert "policy says no" in info.value.message


def test_image_safety_finish_is_blocked_even_with_an_image_part() -> None:
    body = {"candidates": [_candidate([_image_part(_png((1, 2, 3)))], finish="IMAGE_SAFETY")]}
    with pytest.raises(BlockedError, match="IMAGE_SAFETY"):
        image_from_response(_response(body))


def test_core_safety_reasons_are_in_the_block_set() -> None:
    expected = {
        "SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_SAFETY",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_PROHIBITED_CONTENT",
    }
    assert expected <= BLOCK_FINISH_REASONS
    assert not {"STOP", "NO_IMAGE", "IMAGE_OTHER", "MAX_TOKENS"} & BLOCK_FINISH_REASONS


# ------------------------------------------------------------ no image ----


def test_text_only_reply_is_no_image_including_the_models_text() -> None:
    body = {"candidates": [_candidate([{"text": "I would rather describe a cat."}])]}
    with pytest.raises(NoImageError) as info:
        image_from_response(_response(body))
    assert info.value.kind is ErrorKind.no_image
    assert "I would rather describe a cat." in info.value.message
    assert "STOP" in info.value.message


@pytest.mark.parametrize("finish", ["NO_IMAGE", "IMAGE_OTHER", "OTHER", "MAX_TOKENS"])
def test_no_image_finish_reasons(finish: str) -> None:
    body = {"candidates": [{"finishReason": finish, "finishMessage": "nothing drawn"}]}
    with pytest.raises(NoImageError) as info:
        image_from_response(_response(body))
    assert finish in info.value.message
    assert "nothing drawn" in info.value.message


def test_only_thought_images_is_no_image() -> None:
    body = {"candidates": [_candidate([_image_part(_png((1, 2, 3)), thought=True)])]}
    with pytest.raises(NoImageError):
        image_from_response(_response(body))


def test_no_candidates_and_no_block_is_no_image() -> None:
    with pytest.raises(NoImageError, match="no candidates"):
        image_from_response(_response({"usageMetadata": {"promptTokenCount": 3}}))


def test_undecodable_image_bytes_is_no_image() -> None:
    body = {"candidates": [_candidate([_image_part(b"not a png at all")])]}
    with pytest.raises(NoImageError, match="cannot be decoded"):
        image_from_response(_response(body))


def test_long_model_text_is_clipped() -> None:
    body = {"candidates": [_candidate([{"text": "word " * 1000}])]}
    with pytest.raises(NoImageError) as info:
        image_from_response(_response(body))
    assert len(info.value.message) < 700


# ---------------------------------------------------------- retry delay ----


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("37s", 37.0),
        ("1.5s", 1.5),
        ("0.250s", 0.25),
        (" 2s ", 2.0),
        ("0s", 0.0),
        ({"seconds": 3, "nanos": 500_000_000}, 3.5),
        ({"seconds": "4"}, 4.0),
        (12, 12.0),
        ("37", None),
        ("soon", None),
        ("-1s", None),
        (None, None),
        (True, None),
        ([], None),
    ],
)
def test_parse_duration(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


def _rate_limit_body(*details: dict[str, Any]) -> dict[str, Any]:
    return {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota.",
            "status": "RESOURCE_EXHAUSTED",
            "details": list(details),
        }
    }


QUOTA = {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []}
RETRY = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}


def test_retry_info_is_found_among_other_details() -> None:
    assert retry_delay_from_details(_rate_limit_body(QUOTA, RETRY)) == 37.0
    assert retry_delay_from_details([_rate_limit_body(RETRY)]) == 37.0  # list-wrapped body
    assert retry_delay_from_details(_rate_limit_body(QUOTA)) is None
    assert retry_delay_from_details({"error": {"code": 429}}) is None
    assert retry_delay_from_details("not json") is None
    assert retry_delay_from_details({"error": {"details": ["junk", RETRY]}}) == 37.0


def test_429_is_rate_limited_with_retry_after_from_retry_info() -> None:
    error = genai_errors.ClientError(429, _rate_limit_body(QUOTA, RETRY), None)
    classified = classify_api_error(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.kind is ErrorKind.rate_limited
    assert classified.retry_after == 37.0
    assert "RESOURCE_EXHAUSTED" in classified.message
    assert "You exceeded your current quota." in classified.message


def test_429_with_fractional_delay() -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}
    error = genai_errors.ClientError(429, _rate_limit_body(retry), None)
    assert classify_api_error(error).retry_after == 1.5


def test_429_without_retry_info_falls_back_to_retry_after_header() -> None:
    response = httpx.Response(429, headers={"Retry-After": "12"})
    error = genai_errors.ClientError(429, _rate_limit_body(QUOTA), response)
    classified = classify_api_error(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.retry_after == 12.0


def test_429_with_no_hint_has_no_retry_after() -> None:
    error = genai_errors.ClientError(429, _rate_limit_body(QUOTA), None)
    classified = classify_api_error(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.retry_after is None


# ------------------------------------------------------------ HTTP codes ----


def _api_error(code: int, status: str, message: str) -> genai_errors.APIError:
    body = {"error": {"code": code, "status": status, "message": message}}
    if code >= 500:
        return genai_errors.ServerError(code, body, None)
    return genai_errors.ClientError(code, body, None)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_is_transient(code: int) -> None:
    classified = classify_api_error(_api_error(code, "UNAVAILABLE", "The model is overloaded."))
    assert isinstance(classified, TransientError)
    assert classified.kind is ErrorKind.transient
    assert "overloaded" in classified.message


@pytest.mark.parametrize("code", [408, 499])
def test_timing_4xx_is_transient(code: int) -> None:
    assert isinstance(classify_api_error(_api_error(code, "X", "late")), TransientError)


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        (400, "FAILED_PRECONDITION", "Image generation is not available in your country."),
        (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
        (404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta"),
        (413, "", "Request payload size exceeds the limit"),
    ],
)
def test_other_4xx_is_invalid_with_the_api_message(code: int, status: str, message: str) -> None:
    classified = classify_api_error(_api_error(code, status, message))
    assert isinstance(classified, InvalidRequestError)
    assert classified.kind is ErrorKind.invalid
    assert message in classified.message
    assert str(code) in classified.message


def test_non_json_error_body_still_classifies() -> None:
    # the SDK builds {"message": text, "status": reason} when the body is not JSON
    error = genai_errors.ServerError(502, {"message": "<html>bad gateway</html>"}, None)
    classified = classify_api_error(error)
    assert isinstance(classified, TransientError)
    assert "bad gateway" in classified.message


# ------------------------------------------------------------ exceptions ----


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx2.ReadTimeout("read timed out"),
        httpx2.ConnectError("connection refused"),
        TimeoutError(),
        ConnectionResetError("reset by peer"),
        genai_errors.UnknownApiResponseError("Failed to parse response as JSON"),
        # google-genai's async backend when aiohttp is installed (the worker image has it)
        aiohttp.ServerDisconnectedError(),
        aiohttp.ServerTimeoutError("timeout"),
        aiohttp.ClientOSError(111, "Connect call failed"),
        aiohttp.ClientPayloadError("response payload is not completed"),
    ],
)
def test_transport_failures_are_transient(exc: BaseException) -> None:
    classified = classify_exception(exc)
    assert isinstance(classified, TransientError)


def test_timeouts_say_so() -> None:
    assert "timed out" in classify_exception(httpx2.ReadTimeout("")).message
    assert "timed out" in classify_exception(TimeoutError()).message
    assert "connection failed" in classify_exception(httpx.ConnectError("refused")).message
    assert "timed out" in classify_exception(aiohttp.ServerTimeoutError("t")).message


def test_api_errors_go_through_classify_api_error() -> None:
    error = genai_errors.ClientError(429, _rate_limit_body(RETRY), None)
    classified = classify_exception(error)
    assert isinstance(classified, RateLimitedError)
    assert classified.retry_after == 37.0


def test_sdk_parameter_errors_are_invalid() -> None:
    classified = classify_exception(ValueError("person_generation parameter is not supported"))
    assert isinstance(classified, InvalidRequestError)
    assert "person_generation" in classified.message


def test_provider_errors_pass_through_and_unknown_ones_are_internal() -> None:
    blocked = BlockedError("no")
    assert classify_exception(blocked) is blocked
    other = classify_exception(RuntimeError("boom"))
    assert type(other) is ProviderError
    assert other.kind is ErrorKind.internal
    assert "boom" in other.message


# ---------------------------------------------------------- request side ----


def _request(**options: object) -> GenerationRequest:
    return GenerationRequest(
        model="gemini-2.5-flash-image",
        prompt="a red bicycle",
        seed=2**31 + 5,
        references=[
            ReferenceImage(data=_png((1, 2, 3), fmt="JPEG"), mime_type="image/jpeg"),
            ReferenceImage(data=_png((4, 5, 6)), mime_type="image/png"),
        ],
        options=GenerationOptions.model_validate(options),
    )


def test_config_has_no_image_config_without_options() -> None:
    config = build_config(_request())
    assert config.image_config is None
    assert config.response_modalities == ["TEXT", "IMAGE"]
    assert config.seed == 5  # folded into the API's int32 range


def test_config_sends_only_the_options_that_were_set() -> None:
    config = build_config(_request(aspect_ratio="16:9"))
    assert config.image_config is not None
    assert config.image_config.aspect_ratio == "16:9"
    assert config.image_config.image_size is None
    both = build_config(_request(aspect_ratio="1:1", image_size="2K")).image_config
    assert both is not None
    assert (both.aspect_ratio, both.image_size) == ("1:1", "2K")


def test_contents_keep_reference_bytes_and_mime_types_then_the_prompt() -> None:
    request = _request()
    (content,) = build_contents(request)
    assert content.role == "user"
    parts = content.parts or []
    assert [p.inline_data.mime_type for p in parts[:2] if p.inline_data] == [
        "image/jpeg",
        "image/png",
    ]
    assert [p.inline_data.data for p in parts[:2] if p.inline_data] == [
        r.data for r in request.references
    ]
    assert parts[2].text == "a red bicycle"


def test_convert_format_reencodes_only_when_asked() -> None:
    png = GeneratedImage(data=_png((10, 20, 30)), mime_type="image/png", width=8, height=6)
    assert convert_format(png, "png") is png
    jpeg = convert_format(png, "jpeg")
    assert jpeg.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(jpeg.data)) as img:
        assert img.format == "JPEG"
        assert img.size == (8, 6)
    webp = convert_format(png, "webp")
    with Image.open(io.BytesIO(webp.data)) as img:
        assert img.format == "WEBP"


def test_provider_needs_a_key_and_never_shows_it() -> None:
    with pytest.raises(ValidationFailed, match="GEMINI_API_KEY"):
        GeminiProvider(api_key="")
    provider = GeminiProvider(api_key="secret-key-123", base_url="http://127.0.0.1:9")
    assert "secret-key-123" not in repr(provider)
    assert "secret-key-123" not in str(vars(provider).get("_base_url"))
