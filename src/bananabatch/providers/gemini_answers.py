"""A Gemini answer -> its final image in the job's format, or a block / text-only
answer raised with its usage (it was answered, so billed). Pure apart from decoding
the image; shared by the standard provider and the Batch API's result lines."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from google.genai import types
from PIL import Image, UnidentifiedImageError

from bananabatch.contracts import Usage
from bananabatch.providers.base import BlockedError, GeneratedImage, NoImageError

BLOCK_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "LANGUAGE",
        "MODEL_ARMOR",
        "ESCALATION",
        "PUP_LIMITED_DISABLED",
    }
)
"""Finish reasons that mean a policy refused the output: permanent, never retried."""

_MIME_BY_FORMAT = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_PIL_TO_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_TEXT_LIMIT = 500


def _enum_name(value: object) -> str | None:
    if value is None:
        return None
    raw = getattr(value, "value", value)
    return str(raw).upper() or None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _blocked_categories(ratings: Iterable[types.SafetyRating] | None) -> list[str]:
    return [
        _enum_name(r.category) or "UNKNOWN_CATEGORY" for r in ratings or [] if r.blocked is True
    ]


def _blocked(
    what: str,
    reason: str | None,
    message: str | None,
    ratings: Iterable[types.SafetyRating] | None,
) -> BlockedError:
    extra = [message or "", ", ".join(_blocked_categories(ratings))]
    suffix = "; ".join(e for e in extra if e)
    return BlockedError(f"Gemini blocked the {what} ({reason})" + (f": {suffix}" if suffix else ""))


def usage_from_response(response: types.GenerateContentResponse) -> Usage:
    """Token usage; thinking tokens count as output, as they are billed."""
    meta = response.usage_metadata
    if meta is None:
        return Usage()
    prompt = meta.prompt_token_count or 0
    output = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    total = meta.total_token_count or (prompt + output)
    return Usage(input_tokens=prompt, output_tokens=output, total_tokens=total)


def _sniff(data: bytes) -> tuple[str | None, int, int]:
    """(mime from the bytes, width, height); raises NoImageError when undecodable."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return _PIL_TO_MIME.get(img.format or ""), img.width, img.height
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NoImageError(f"Gemini returned image data that cannot be decoded: {exc}") from exc


def image_from_response(response: types.GenerateContentResponse) -> GeneratedImage:
    """A generateContent answer -> the final image, or BlockedError / NoImageError.

    Thought parts (`thought=True`, the model's drafts) are skipped; of the remaining
    image parts the last one is the final image.
    """
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise _blocked(
            "prompt",
            _enum_name(feedback.block_reason),
            feedback.block_reason_message,
            feedback.safety_ratings,
        )

    candidate = response.candidates[0] if response.candidates else None
    if candidate is None:
        raise NoImageError("Gemini returned no candidates and no block reason")
    finish = _enum_name(candidate.finish_reason)
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    texts = [p.text for p in parts if p.text and not p.thought]
    if finish in BLOCK_FINISH_REASONS:
        raise _blocked("image", finish, candidate.finish_message, candidate.safety_ratings)

    final = None
    for part in parts:
        if part.thought:
            continue
        if part.inline_data is not None and part.inline_data.data:
            final = part.inline_data
    text = _clip(" ".join(texts)) if texts else None
    if final is None or final.data is None:
        said = f"; the model said: {text}" if text else ""
        why = f" (finish reason {finish})" if finish else ""
        message = candidate.finish_message
        note = f": {message}" if message else ""
        raise NoImageError(f"Gemini returned no image{why}{note}{said}")

    sniffed_mime, width, height = _sniff(final.data)
    return GeneratedImage(
        data=final.data,
        mime_type=sniffed_mime or final.mime_type or "application/octet-stream",
        width=width,
        height=height,
        usage=usage_from_response(response),
        text=text,
    )


def convert_format(image: GeneratedImage, output_format: str) -> GeneratedImage:
    """Re-encode the model's image when the job asked for another format."""
    wanted = _MIME_BY_FORMAT.get(output_format)
    if wanted is None or image.mime_type == wanted:
        return image
    with Image.open(io.BytesIO(image.data)) as opened:
        opened.load()
        img: Image.Image = opened
        if output_format == "jpeg" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        buf = io.BytesIO()
        options: dict[str, Any] = {"quality": 95} if output_format in ("jpeg", "webp") else {}
        img.save(buf, _PIL_FORMAT[output_format], **options)
    return GeneratedImage(
        data=buf.getvalue(),
        mime_type=wanted,
        width=image.width,
        height=image.height,
        usage=image.usage,
        text=image.text,
    )


def answer_image(response: types.GenerateContentResponse, output_format: str) -> GeneratedImage:
    """The image of an answer in the job's format; a block or text-only answer raises
    with its usage attached (it was answered, so billed: the ledger says so)."""
    try:
        image = image_from_response(response)
    except (BlockedError, NoImageError) as exc:
        exc.usage = usage_from_response(response)
        raise
    if image.mime_type != _MIME_BY_FORMAT.get(output_format):
        image = convert_format(image, output_format)
    return image
