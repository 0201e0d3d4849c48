"""The fake Gemini server's wire format: request parsing, PNG answers, Google's
error envelope. No state; the server and the model routes build on it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

API_VERSIONS = ("v1beta", "v1")
GENERATE_PATH_RE = re.compile(r"^/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+):generateContent$")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_STATUS_MESSAGES = {
    429: "You exceeded your current quota, please check your plan and billing details.",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}
IMAGE_TOKENS = 1290  # what Gemini 2.5 Flash Image bills per output image
# Output tokens Gemini bills per image, by model and image size (docs/providers.md).
IMAGE_TOKENS_BY_MODEL: dict[str, dict[str, int]] = {
    "gemini-nano-banana-2.1": {"1K": 1120, "2K": 1680, "4K": 3780},
    "gemini-3-pro-image": {"1K": 1120, "2K": 1120, "4K": 2000},
    "gemini-3.1-flash-lite-image": {"1K": 1120},
}


def image_tokens(model: str, image_config: dict[str, Any] | None) -> int:
    size = str(
        (image_config or {}).get("imageSize") or (image_config or {}).get("image_size") or "1K"
    )
    return IMAGE_TOKENS_BY_MODEL.get(model, {}).get(size.upper(), IMAGE_TOKENS)


REFERENCE_TOKENS = 258


@dataclass(frozen=True)
class RecordedRequest:
    """What one call sent, for assertions."""

    api_version: str
    model: str
    api_key: str | None
    prompt: str
    seed: int | None
    reference_mime_types: list[str]
    reference_sizes: list[tuple[int, int]]
    reference_sha256: list[str]
    image_config: dict[str, Any] | None
    response_modalities: list[str] | None
    body: dict[str, Any]
    status: int = 0
    outcome: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    route: str = "standard"
    """"standard" (a generateContent call) or "batch" (one line of a Batch API job)."""


def first(params: dict[str, list[str]], name: str) -> str | None:
    """The first value of a query parameter, or None."""
    values = params.get(name)
    return values[0] if values else None


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode_base64(value: str) -> bytes:
    """Standard or URL-safe base64, padded or not (the API accepts both)."""
    cleaned = "".join(value.split())
    cleaned += "=" * (-len(cleaned) % 4)
    alphabet = b"-_" if ("-" in cleaned or "_" in cleaned) else b"+/"
    try:
        return base64.b64decode(cleaned, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(400, f"Invalid value at 'contents[0].parts': {exc}") from exc


def png(size: tuple[int, int], colour: tuple[int, int, int], meta: dict[str, str]) -> bytes:
    info = PngInfo()
    for key, value in meta.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def colour(*parts: object) -> tuple[int, int, int]:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return digest[0], digest[1], digest[2]


def size_for(aspect_ratio: str | None, long_side: int) -> tuple[int, int]:
    if aspect_ratio:
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$", aspect_ratio)
        if match:
            ratio = float(match.group(1)) / float(match.group(2))
            if ratio >= 1:
                return long_side, max(1, round(long_side / ratio))
            return max(1, round(long_side * ratio)), long_side
    return long_side, long_side


@dataclass
class Parsed:
    api_version: str
    model: str
    prompt: str
    seed: int | None
    references: list[tuple[str, bytes]]
    image_config: dict[str, Any] | None
    response_modalities: list[str] | None
    body: dict[str, Any]


def parse_body(version: str, model: str, raw: bytes) -> Parsed:
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"Invalid JSON payload received. {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest(400, "Invalid JSON payload received: expected an object.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise BadRequest(400, "* GenerateContentRequest.contents: contents is not specified")
    texts: list[str] = []
    references: list[tuple[str, bytes]] = []
    for content in contents:
        for part in (content or {}).get("parts") or []:
            if "text" in part:
                texts.append(str(part["text"]))
            inline = part.get("inlineData") or part.get("inline_data")
            if inline is not None:
                mime = inline.get("mimeType") or inline.get("mime_type")
                if not mime:
                    raise BadRequest(400, "inlineData.mimeType is required")
                if not str(mime).startswith("image/"):
                    raise BadRequest(400, f"Unsupported MIME type: {mime}")
                references.append((str(mime), decode_base64(str(inline.get("data", "")))))
    gen = body.get("generationConfig") or body.get("generation_config") or {}
    image_config = gen.get("imageConfig") or gen.get("image_config")
    modalities = gen.get("responseModalities") or gen.get("response_modalities")
    seed = gen.get("seed")
    return Parsed(
        api_version=version,
        model=model,
        prompt="\n".join(texts),
        seed=int(seed) if seed is not None else None,
        references=references,
        image_config=image_config,
        response_modalities=list(modalities) if modalities else None,
        body=body,
    )


def image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return (0, 0)


def image_part(png: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}}


def response_body(
    parsed: Parsed,
    candidates: list[dict[str, Any]],
    prompt_tokens: int,
    candidate_tokens: int,
    thought_tokens: int = 0,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": candidate_tokens,
        "totalTokenCount": prompt_tokens + candidate_tokens + thought_tokens,
    }
    if thought_tokens:
        usage["thoughtsTokenCount"] = thought_tokens
    digest = hashlib.sha256(f"{parsed.prompt}|{parsed.seed}|{time.time_ns()}".encode())
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": parsed.model,
        "responseId": digest.hexdigest()[:22],
    }


def error_body(
    status: int,
    message: str | None = None,
    *,
    retry_delay: str | None = None,
    reason: str | None = None,
) -> tuple[int, dict[str, Any]]:
    status_name = _STATUS_NAMES.get(status, "UNKNOWN")
    details: list[dict[str, Any]] = []
    if status == 429:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            }
        )
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            }
        )
        if retry_delay is not None:
            details.append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
            )
    if reason is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        )
    error: dict[str, Any] = {
        "code": status,
        "message": message or _STATUS_MESSAGES.get(status, f"fake error {status}"),
        "status": status_name,
    }
    if details:
        error["details"] = details
    return status, {"error": error}
