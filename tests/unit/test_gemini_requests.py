"""What the provider sends Gemini (config, contents), and that it never shows its key."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bananabatch.contracts import GenerationOptions
from bananabatch.errors import ValidationFailed
from bananabatch.providers.base import (
    GenerationRequest,
    ReferenceImage,
)
from bananabatch.providers.gemini import GeminiProvider, build_config, build_contents


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


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


def test_provider_needs_a_key_and_never_shows_it() -> None:
    with pytest.raises(ValidationFailed, match="GEMINI_API_KEY"):
        GeminiProvider(api_key="")
    provider = GeminiProvider(api_key="secret-key-123", base_url="http://127.0.0.1:9")
    assert "secret-key-123" not in repr(provider)
    assert "secret-key-123" not in str(vars(provider).get("_base_url"))
