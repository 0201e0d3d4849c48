"""The model routes of the fake Gemini server: `GET /{version}/models/{model}` and the
paged `GET /{version}/models`, in the `Model` JSON shape the SDK parses."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any

from tests.fakes.gemini.wire import error_body

MODELS_PATH_RE = re.compile(r"^/(?P<version>v1beta|v1)/models(?:/(?P<model>[^/:]+))?$")
DEFAULT_MODELS: tuple[str, ...] = (
    "gemini-nano-banana-2.1",
    "gemini-3-pro-image",
    "gemini-3.1-flash-lite-image",
    "gemini-2.5-flash-image",
    "gemini-3.8-flash",  # a text model: listed, but not an image model of the catalog
)
"""What a key can use by default: today's image models, the legacy one and a text model."""
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
IMAGE_METHODS = ["generateContent", "countTokens", "batchGenerateContent"]
TEXT_METHODS = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]


def model_resource(model_id: str) -> dict[str, Any]:
    """One `Model` as Google answers it (names carry the `models/` prefix)."""
    image = "image" in model_id or "banana" in model_id
    return {
        "name": f"models/{model_id}",
        "version": "001",
        "displayName": model_id.replace("-", " ").title(),
        "description": f"Fake {'image' if image else 'text'} model {model_id}.",
        "inputTokenLimit": 131_072 if image else 1_048_576,
        "outputTokenLimit": 32_768 if image else 65_536,
        "supportedGenerationMethods": IMAGE_METHODS if image else TEXT_METHODS,
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2.0,
        "thinking": True,
    }


def not_found(version: str, model_id: str) -> tuple[int, dict[str, Any]]:
    return error_body(
        404,
        f"models/{model_id} is not found for API version {version}, or is not supported for "
        "generateContent. Call ListModels to see the list of available models and their "
        "supported methods.",
    )


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(raw.removeprefix("offset:")) if raw.startswith("offset:") else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def list_page(
    models: Sequence[str], page_size: str | None, page_token: str | None
) -> tuple[int, dict[str, Any]]:
    """One page of `models`, `nextPageToken` while more remain (Google's paging)."""
    try:
        size = int(page_size) if page_size else DEFAULT_PAGE_SIZE
    except ValueError:
        return error_body(400, f"Invalid value at 'page_size' ({page_size!r}).")
    size = min(max(size, 1), MAX_PAGE_SIZE)
    offset = 0
    if page_token:
        decoded = _decode_token(page_token)
        if decoded is None or decoded < 0:
            return error_body(400, "Invalid page token.")
        offset = decoded
    page = list(models[offset : offset + size])
    body: dict[str, Any] = {"models": [model_resource(m) for m in page]}
    if offset + size < len(models):
        body["nextPageToken"] = _encode_token(offset + size)
    return 200, body
