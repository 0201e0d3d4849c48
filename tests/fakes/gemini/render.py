"""How the fake Gemini server answers one generateContent request: the scripted or
marked fault decides the shape (error, block, finish reason, text only, thoughts, N
images), the prompt, seed and references decide the pixels and the usage figures."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from tests.fakes.gemini.content import content_marker, from_reference
from tests.fakes.gemini.faults import Fault
from tests.fakes.gemini.wire import (
    REFERENCE_TOKENS,
    Parsed,
    colour,
    error_body,
    image_part,
    image_size,
    image_tokens,
    png,
    response_body,
    size_for,
)

Answer = tuple[int, dict[str, Any], str]
"""(HTTP status, JSON body, outcome label for `RecordedRequest.outcome`)."""


def render(fault: Fault, parsed: Parsed, long_side: int) -> Answer:
    """The answer (status, body, outcome) to one parsed request under `fault`."""
    prompt_tokens = max(1, len(parsed.prompt.split())) + REFERENCE_TOKENS * len(parsed.references)
    if fault.kind == "http_error":
        status, body = error_body(fault.status, fault.message, retry_delay=fault.retry_delay)
        return status, body, f"http_{fault.status}"
    if fault.kind == "prompt_block":
        feedback: dict[str, Any] = {"blockReason": fault.reason or "SAFETY"}
        if fault.message:
            feedback["blockReasonMessage"] = fault.message
        body = {
            "promptFeedback": feedback,
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "totalTokenCount": prompt_tokens,
            },
            "modelVersion": parsed.model,
        }
        return 200, body, "prompt_blocked"
    if fault.kind == "finish":
        candidate: dict[str, Any] = {"finishReason": fault.reason, "index": 0}
        if fault.message:
            candidate["finishMessage"] = fault.message
        return (
            200,
            response_body(parsed, [candidate], prompt_tokens, 0),
            f"finish_{fault.reason}",
        )
    if fault.kind == "text_only":
        candidate = {
            "content": {"role": "model", "parts": [{"text": fault.text or ""}]},
            "finishReason": fault.reason or "STOP",
            "index": 0,
        }
        return 200, response_body(parsed, [candidate], prompt_tokens, 12), "text_only"

    content = content_marker(parsed.prompt) if parsed.references else None
    size = _content_size(parsed, long_side) if content else _output_size(parsed, long_side)
    parts: list[dict[str, Any]] = []
    thoughts = fault.count if fault.kind == "thoughts" else 0
    finals = fault.count if fault.kind == "images" else 1
    for i in range(thoughts):
        parts.append({"text": f"Drafting composition {i + 1}.", "thought": True})
        draft = png(size, (128, 128, 128), {"fake-gemini": f"thought {i + 1}"})
        parts.append(image_part(draft) | {"thought": True})
    # real answers from thinking models sign the first non-thought part
    signature = base64.b64encode(hashlib.sha256(parsed.prompt.encode()).digest()).decode()
    parts.append({"text": "Here is your image.", "thoughtSignature": signature})
    for i in range(finals):
        meta = {
            "fake-gemini": "final" if i == finals - 1 else f"image {i + 1}",
            "model": parsed.model,
            "seed": str(parsed.seed),
            "prompt-sha256": hashlib.sha256(parsed.prompt.encode()).hexdigest(),
        }
        if content is not None:
            kind, amount = content
            made = from_reference(parsed.references[0][1], size, kind, amount, meta)
            parts.append(image_part(made))
            continue
        fill = colour(parsed.model, parsed.prompt, parsed.seed, i)
        parts.append(image_part(png(size, fill, meta)))
    candidate = {
        "content": {"role": "model", "parts": parts},
        "finishReason": "STOP",
        "index": 0,
    }
    body = response_body(
        parsed,
        [candidate],
        prompt_tokens,
        image_tokens(parsed.model, parsed.image_config) * finals,
        thoughts * 40,
    )
    return 200, body, "image"


def _content_size(parsed: Parsed, long_side: int) -> tuple[int, int]:
    """The asked aspect ratio at the server's resolution, like a real model; the
    reference's size when no ratio was asked."""
    config = parsed.image_config or {}
    aspect = config.get("aspectRatio") or config.get("aspect_ratio")
    if aspect:
        return size_for(aspect, long_side)
    return image_size(parsed.references[0][1])


def _output_size(parsed: Parsed, long_side: int) -> tuple[int, int]:
    for _, data in parsed.references:
        size = image_size(data)
        if size != (0, 0):
            return size
    aspect = (parsed.image_config or {}).get("aspectRatio") or (parsed.image_config or {}).get(
        "aspect_ratio"
    )
    return size_for(aspect, long_side)
