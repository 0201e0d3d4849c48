"""The Gemini Batch API's lines: how a slot becomes one JSONL request and how one
result line becomes the slot's image or error, with the same request building and
the same classification as the standard Gemini provider.

Pure except `ReplayProvider.generate`, which decodes an image off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from google.genai import errors as genai_errors
from google.genai import types

from bananabatch.providers.base import GeneratedImage, GenerationRequest, ProviderError
from bananabatch.providers.gemini import build_config, build_contents
from bananabatch.providers.gemini_answers import answer_image
from bananabatch.providers.gemini_errors import classify_api_error

BATCH_HANDLE_PREFIX = "gbatch:"


def line_key(output_id: str, round_: int) -> str:
    """One key per output slot and round (a round ends only when its batch is lost)."""
    return f"{output_id}.{round_}"


def display_name(job_id: str, keys: list[str]) -> str:
    """Derived from the job and the exact lines, so the same work always has the same
    name: after a crash `batches.list` finds it instead of a second batch being made."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"bananabatch-{job_id}-{digest}"


def line_bytes(reference_bytes: int, prompt: str) -> int:
    """A JSONL line's size, near enough: its references in base64 plus the rest."""
    return (reference_bytes * 4 + 2) // 3 + len(prompt.encode()) + 1024


def pack(
    slots: list[tuple[str, str, int]], max_lines: int, max_bytes: int
) -> list[list[tuple[str, str]]]:
    """(output id, task id, line bytes) slots in order, cut into batches of at most
    `max_lines` lines and `max_bytes` bytes of JSONL (a line over the limit goes alone):
    with many large references a batch holds fewer lines, never a file near 2 GB."""
    batches: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    size = 0
    for output_id, task_id, n in slots:
        if current and (len(current) >= max_lines or size + n > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append((output_id, task_id))
        size += n
    if current:
        batches.append(current)
    return batches


def task_handle(task_id: str) -> str:
    return f"{BATCH_HANDLE_PREFIX}{task_id}"


def is_batch_handle(handle: str | None) -> bool:
    return bool(handle) and str(handle).startswith(BATCH_HANDLE_PREFIX)


def request_json(request: GenerationRequest) -> dict[str, Any]:
    """The REST `GenerateContentRequest` of `request`: the same contents and config the
    standard provider sends (`build_contents`, `build_config`)."""
    config = build_config(request)
    generation: dict[str, Any] = {
        "responseModalities": list(config.response_modalities or []),
        "seed": config.seed,
    }
    if config.image_config is not None:
        generation["imageConfig"] = config.image_config.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    return {
        "contents": [
            c.model_dump(mode="json", by_alias=True, exclude_none=True)
            for c in build_contents(request)
        ],
        "generationConfig": generation,
    }


def line_error(error: dict[str, Any]) -> ProviderError:
    """A result line's `error` (a google.rpc.Status), classified like an HTTP error."""
    code = int(error.get("code") or 500)
    return classify_api_error(genai_errors.APIError(code, {"error": error}))


class ReplayProvider:
    """An `ImageProvider` that answers with one result line of a batch, so the worker
    pipeline (fit to the source, checks, metadata, delivery, paid calls) treats a batch
    answer exactly like a standard one."""

    name = "gemini"

    def __init__(self, line: dict[str, Any]) -> None:
        self._line = line

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        if "response" not in self._line:
            raise line_error(self._line.get("error") or {})
        response = types.GenerateContentResponse.model_validate(self._line["response"])
        return await asyncio.to_thread(answer_image, response, request.options.output_format)

    async def aclose(self) -> None:
        return None
