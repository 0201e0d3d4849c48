"""The `gemini` provider: Nano Banana (Gemini image models) through the official
`google-genai` async client.

Every outcome is classified into the port's error classes by small pure
functions (`image_from_response`, `classify_api_error`, `classify_exception`),
so the retry policy is decided by kind, and those functions are unit-tested
without HTTP. The SDK's own retries are switched off: the worker and the
orchestrator retry, honouring the `RetryInfo.retryDelay` that the SDK ignores.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import logging
import re
from collections.abc import Iterable
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from PIL import Image, UnidentifiedImageError

from bananabatch.contracts import Usage
from bananabatch.errors import ValidationFailed
from bananabatch.providers.base import (
    BlockedError,
    GeneratedImage,
    GenerationRequest,
    InvalidRequestError,
    NoImageError,
    ProviderError,
    RateLimitedError,
    TransientError,
)

log = logging.getLogger(__name__)

RESPONSE_MODALITIES = ["TEXT", "IMAGE"]
"""Google's examples ask for both: the model may explain a refusal in text."""

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

TRANSIENT_CLIENT_CODES = frozenset({408, 499})
"""4xx codes that are about timing, not the request (timeout, cancelled)."""

_MIME_BY_FORMAT = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_PIL_TO_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_DURATION_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*s\s*$")
_TEXT_LIMIT = 500
_SEED_LIMIT = 2**31


# ----------------------------------------------------------- pure helpers ----


def parse_duration(value: object) -> float | None:
    """A protobuf Duration in JSON form ("37s", "1.5s", "0.250s") -> seconds.

    Also accepts the object form {"seconds": 37, "nanos": 5e8} and bare numbers.
    Returns None for anything unusable or negative.
    """
    seconds: float | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            seconds = float(match.group(1))
    elif isinstance(value, dict):
        try:
            seconds = float(value.get("seconds", 0) or 0) + float(value.get("nanos", 0) or 0) / 1e9
        except (TypeError, ValueError):
            return None
    if seconds is None or seconds < 0:
        return None
    return seconds


def _error_details(details: object) -> list[Any]:
    """The `error.details` list of a Google API error body, wherever it sits."""
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    if not isinstance(details, dict):
        return []
    inner = details.get("error", details)
    found = inner.get("details") if isinstance(inner, dict) else None
    return found if isinstance(found, list) else []


def retry_delay_from_details(details: object) -> float | None:
    """`retryDelay` of the `google.rpc.RetryInfo` entry in an API error body."""
    for entry in _error_details(details):
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("@type", ""))
        if kind.endswith("google.rpc.RetryInfo"):
            delay = parse_duration(entry.get("retryDelay", entry.get("retry_delay")))
            if delay is not None:
                return delay
    return None


def _retry_after_header(error: genai_errors.APIError) -> float | None:
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if not isinstance(value, str):
        return None
    return parse_duration(f"{value.strip()}s")  # delta-seconds; an HTTP-date is ignored


def _api_message(error: genai_errors.APIError) -> str:
    message = error.message or ""
    status = error.status or ""
    label = f"{error.code} {status}".strip()
    return f"{label}: {message}" if message else label


def classify_api_error(error: genai_errors.APIError) -> ProviderError:
    """An SDK API error (an HTTP error answer) -> the port's error class."""
    code = int(error.code or 0)
    detail = _api_message(error)
    if code == 429:
        retry_after = retry_delay_from_details(error.details)
        if retry_after is None:
            retry_after = _retry_after_header(error)
        return RateLimitedError(f"Gemini rate limit: {detail}", retry_after=retry_after)
    if code >= 500 or code in TRANSIENT_CLIENT_CODES:
        return TransientError(f"Gemini server error: {detail}")
    if 400 <= code < 500:
        return InvalidRequestError(f"Gemini rejected the request: {detail}")
    return TransientError(f"Gemini unexpected answer: {detail}")


def _transport_error_classes() -> tuple[type[BaseException], ...]:
    """Transport errors of every HTTP backend the SDK may pick, whichever are installed:
    httpx / httpx2, or aiohttp, which google-genai uses for async calls whenever it is
    importable (the RunPod SDK brings it into the worker image)."""
    classes: list[type[BaseException]] = []
    for module_name, class_name in (
        ("httpx", "TransportError"),
        ("httpx2", "TransportError"),
        ("aiohttp", "ClientConnectionError"),  # refused, reset, server timeouts
        ("aiohttp", "ClientPayloadError"),  # a body cut off mid-transfer
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            classes.append(cls)
    return tuple(classes)


_TRANSPORT_ERRORS = _transport_error_classes()


def classify_exception(exc: BaseException) -> ProviderError:
    """Any exception raised around a Gemini call -> the port's error class."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return classify_api_error(exc)
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is TimeoutError on 3.11
        return TransientError("Gemini call timed out")
    if _TRANSPORT_ERRORS and isinstance(exc, _TRANSPORT_ERRORS):
        kind = "timed out" if "Timeout" in type(exc).__name__ else "connection failed"
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return TransientError(f"Gemini call {kind} ({detail})")
    if isinstance(exc, ConnectionError):
        return TransientError(f"Gemini connection failed: {exc}")
    if isinstance(exc, genai_errors.UnknownApiResponseError):
        return TransientError(f"Gemini answered something that is not JSON: {exc}")
    if isinstance(exc, ValueError | TypeError):
        # the SDK validates parameters client-side (e.g. an option a model lacks)
        return InvalidRequestError(f"Gemini request is not valid: {exc}")
    return ProviderError(f"Gemini call failed: {type(exc).__name__}: {exc}")


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


# ---------------------------------------------------------------- provider ----


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
