"""A Gemini answer -> its image or a block / no-image error, on SDK objects (no HTTP)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from google.genai import types
from PIL import Image

from bananabatch.contracts import ErrorKind
from bananabatch.providers.base import (
    BlockedError,
    GeneratedImage,
    NoImageError,
)
from bananabatch.providers.gemini_answers import (
    BLOCK_FINISH_REASONS,
    convert_format,
    image_from_response,
    usage_from_response,
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
