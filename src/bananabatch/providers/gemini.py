"""The `gemini` provider: Nano Banana (Gemini image models) through the official
`google-genai` async client, and the request building the Batch API shares.

Every outcome is classified into the port's error classes by pure functions
(`gemini_errors` for failed calls, `gemini_answers` for answers), so the retry
policy is decided by kind. The SDK's own retries are switched off: the worker and
the orchestrator retry, honouring the `RetryInfo.retryDelay` that the SDK ignores.
"""

from __future__ import annotations

import asyncio
import logging

from google import genai
from google.genai import types

from bananabatch.errors import ValidationFailed
from bananabatch.providers.base import GeneratedImage, GenerationRequest
from bananabatch.providers.gemini_answers import answer_image
from bananabatch.providers.gemini_errors import classify_exception

log = logging.getLogger(__name__)

RESPONSE_MODALITIES = ["TEXT", "IMAGE"]
"""Google's examples ask for both: the model may explain a refusal in text."""

_SEED_LIMIT = 2**31


def build_config(request: GenerationRequest) -> types.GenerateContentConfig:
    """The generation config: image_config only for options the job actually set."""
    options = request.options
    image_config = None
    if options.aspect_ratio is not None or options.image_size is not None:
        image_config = types.ImageConfig(
            aspect_ratio=options.aspect_ratio, image_size=options.image_size
        )
    return types.GenerateContentConfig(
        response_modalities=RESPONSE_MODALITIES,
        image_config=image_config,
        seed=request.seed % _SEED_LIMIT,
    )


def build_contents(request: GenerationRequest) -> list[types.Content]:
    """References first (their own bytes and mime type, never re-encoded), then the prompt."""
    parts = [types.Part.from_bytes(data=r.data, mime_type=r.mime_type) for r in request.references]
    parts.append(types.Part.from_text(text=request.prompt))
    return [types.Content(role="user", parts=parts)]


class GeminiProvider:
    """Gemini image models via `client.aio.models.generate_content`."""

    name = "gemini"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        api_version: str = "v1beta",
        timeout_seconds: float = 120.0,
    ) -> None:
        if not api_key:
            raise ValidationFailed("Set GEMINI_API_KEY to use Gemini models.")
        self._timeout_seconds = timeout_seconds
        self._client = genai.Client(
            vertexai=False,
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                api_version=api_version,
                timeout=max(1, round(timeout_seconds * 1000)),
                # one attempt: our worker/orchestrator own retries and honour RetryInfo
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        self._base_url = base_url
        self._api_version = api_version

    def __repr__(self) -> str:  # the key stays inside the client, never in reprs or logs
        return f"GeminiProvider(base_url={self._base_url!r}, api_version={self._api_version!r})"

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        config = build_config(request)
        contents = build_contents(request)
        try:
            # a backstop over the HTTP timeout, for a server that trickles bytes forever
            async with asyncio.timeout(self._timeout_seconds + 5.0):
                response = await self._client.aio.models.generate_content(
                    model=request.model, contents=contents, config=config
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = classify_exception(exc)
            log.info("gemini %s: %s (%s)", request.model, error.kind, error.message)
            raise error from exc
        return await asyncio.to_thread(answer_image, response, request.options.output_format)

    async def aclose(self) -> None:
        await self._client.aio.aclose()
