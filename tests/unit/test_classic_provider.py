"""The offline classic provider: deterministic, keyword-driven, honest about what it is."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bananabatch.contracts import GenerationOptions
from bananabatch.providers.base import (
    GeneratedImage,
    GenerationRequest,
    ImageProvider,
    InvalidRequestError,
    ReferenceImage,
)
from bananabatch.providers.classic import (
    KEYWORDS,
    RESULT_LABEL,
    ClassicProvider,
    find_keywords,
    parse_aspect_ratio,
)


def _photo(width: int = 160, height: int = 120, fmt: str = "JPEG", seed: int = 0) -> bytes:
    """A smooth, photo-like test image (gradients + a shape), so effects are visible."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    arr = np.stack(
        [200 * xs + 30 * ys, 60 + 150 * ys + 0 * xs, 180 - 120 * xs * ys], axis=-1
    ) + rng.normal(0, 4, (height, width, 3))
    arr[height // 4 : height // 2, width // 4 : width // 2] = (250, 240, 40)
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").save(buf, fmt)
    return buf.getvalue()


def _request(
    prompt: str = "",
    seed: int = 1,
    data: bytes | None = None,
    mime: str = "image/jpeg",
    **options: object,
) -> GenerationRequest:
    refs = [ReferenceImage(data=data, mime_type=mime, name="cat/001.jpg")] if data else []
    return GenerationRequest(
        model="classic",
        prompt=prompt,
        seed=seed,
        references=refs,
        options=GenerationOptions.model_validate(options),
    )


async def _run(request: GenerationRequest) -> GeneratedImage:
    provider: ImageProvider = ClassicProvider()  # checks it satisfies the port
    try:
        return await provider.generate(request)
    finally:
        await provider.aclose()


def _pixels(image: GeneratedImage) -> np.ndarray:
    with Image.open(io.BytesIO(image.data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32)


async def test_same_inputs_and_seed_give_identical_bytes() -> None:
    photo = _photo()
    for prompt in ("", "night rain", "vintage rotate noise"):
        first = await _run(_request(prompt, seed=42, data=photo))
        second = await _run(_request(prompt, seed=42, data=photo))
        assert first.data == second.data, prompt
        assert first.text == second.text


@pytest.mark.parametrize("prompt", ["", "grayscale", "flip", "snow"])
async def test_different_seeds_give_different_images(prompt: str) -> None:
    photo = _photo()
    outputs = {(await _run(_request(prompt, seed=s, data=photo))).data for s in range(4)}
    assert len(outputs) == 4


async def test_different_sources_with_the_same_seed_differ() -> None:
    a = await _run(_request("", seed=7, data=_photo(seed=1)))
    b = await _run(_request("", seed=7, data=_photo(seed=2)))
    assert a.text != b.text or a.data != b.data


async def test_result_is_labelled_classical_never_ai() -> None:
    result = await _run(_request("rain", data=_photo()))
    assert result.text is not None
    assert result.text.startswith(f"{RESULT_LABEL}: ")
    assert "AI" not in result.text
    assert "rain" in result.text
    assert result.usage.total_tokens == 0


def test_keywords_are_found_case_insensitively_as_whole_words() -> None:
    assert find_keywords("A rainy NIGHT in the city") == ["night", "rain"]
    assert find_keywords("Black and White, please") == ["grayscale"]
    assert find_keywords("b&w photo") == ["grayscale"]
    assert find_keywords("a rainbow over darkness") == []  # no partial matches
    assert find_keywords("flip it upside down") == ["flip", "upside down"]
    assert find_keywords("a cat on a sofa") == []


def test_every_keyword_has_a_description_and_triggers_itself() -> None:
    for keyword, description in KEYWORDS.items():
        assert description.strip()
        assert keyword in find_keywords(f"make it {keyword.upper()} please")


async def test_keywords_change_the_output_in_the_expected_direction() -> None:
    photo = _photo()
    base = _pixels(await _run(_request("a cat", seed=3, data=photo)))

    gray = _pixels(await _run(_request("grayscale", seed=3, data=photo)))
    assert np.abs(gray[..., 0] - gray[..., 1]).max() <= 1
    assert np.abs(gray[..., 1] - gray[..., 2]).max() <= 1

    night = _pixels(await _run(_request("night", seed=3, data=photo)))
    assert night.mean() < base.mean() * 0.75
    assert night[..., 2].mean() > night[..., 0].mean()  # blue tint

    bright = _pixels(await _run(_request("bright", seed=3, data=photo)))
    assert bright.mean() > base.mean() * 1.1

    blurred = _pixels(await _run(_request("blur", seed=3, data=photo)))
    sharp = _pixels(await _run(_request("sharpen", seed=3, data=photo)))

    def edge_energy(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=1)).mean())

    assert edge_energy(blurred) < edge_energy(sharp)

    sepia = _pixels(await _run(_request("sepia", seed=3, data=photo)))
    assert sepia[..., 0].mean() > sepia[..., 2].mean()  # reddish-brown

    fog = _pixels(await _run(_request("fog", seed=3, data=photo)))
    assert fog.std() < base.std()  # contrast washed out


async def test_flip_mirrors_the_image() -> None:
    # A left-dark / right-bright image stays that way under jitter, and flips with "flip".
    arr = np.zeros((60, 80, 3), dtype=np.uint8)
    arr[:, 40:] = 230
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    flipped = _pixels(await _run(_request("flip", data=buf.getvalue(), mime="image/png")))
    assert flipped[:, :20].mean() > 150 > flipped[:, -20:].mean()


@pytest.mark.parametrize(
    ("fmt", "mime", "pil_format"),
    [("png", "image/png", "PNG"), ("jpeg", "image/jpeg", "JPEG"), ("webp", "image/webp", "WEBP")],
)
async def test_output_format_sets_bytes_and_mime(fmt: str, mime: str, pil_format: str) -> None:
    result = await _run(_request("warm", data=_photo(), output_format=fmt))
    assert result.mime_type == mime
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.format == pil_format
        assert img.size == (result.width, result.height)


async def test_keeps_the_source_size_without_aspect_ratio() -> None:
    result = await _run(_request("rotate shear zoom", data=_photo(201, 99)))
    assert (result.width, result.height) == (201, 99)


async def test_aspect_ratio_center_crops_the_source() -> None:
    result = await _run(_request("noise", data=_photo(200, 100), aspect_ratio="1:1"))
    assert (result.width, result.height) == (100, 100)
    assert "center crop 1:1" in (result.text or "")
    tall = await _run(_request("", data=_photo(200, 100), aspect_ratio="9:16"))
    assert tall.height == 100
    assert tall.width == round(100 * 9 / 16)


async def test_png_with_transparency_and_palette_images_are_accepted() -> None:
    rgba = Image.new("RGBA", (50, 40), (255, 0, 0, 0))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    result = await _run(_request("sepia", data=buf.getvalue(), mime="image/png"))
    assert (result.width, result.height) == (50, 40)
    pal = Image.new("P", (30, 20))
    buf = io.BytesIO()
    pal.save(buf, "GIF")
    assert (await _run(_request("", data=buf.getvalue(), mime="image/gif"))).width == 30


async def test_no_reference_makes_a_procedural_image_sized_by_aspect_ratio() -> None:
    result = await _run(_request("a castle at night", seed=9, aspect_ratio="16:9", image_size="1K"))
    assert (result.width, result.height) == (1024, 576)
    assert "procedural pattern (no reference image)" in (result.text or "")
    again = await _run(_request("a castle at night", seed=9, aspect_ratio="16:9", image_size="1K"))
    assert again.data == result.data
    other = await _run(_request("a castle at night", seed=10, aspect_ratio="16:9", image_size="1K"))
    assert other.data != result.data
    small = await _run(_request("", seed=1, image_size="512"))
    assert (small.width, small.height) == (512, 512)
    portrait = await _run(_request("", seed=1, aspect_ratio="3:4", image_size="512"))
    assert (portrait.width, portrait.height) == (384, 512)


async def test_procedural_image_is_not_flat() -> None:
    pixels = _pixels(await _run(_request("", seed=5, image_size="512")))
    assert pixels.std() > 5


async def test_unreadable_reference_is_an_invalid_request_naming_the_file() -> None:
    with pytest.raises(InvalidRequestError, match=r"cat/001\.jpg.*not a readable image"):
        await _run(_request("night", data=b"definitely not an image"))


@pytest.mark.parametrize("bad", ["wide", "16x9", "0:1", "1:", ""])
def test_bad_aspect_ratio_is_an_invalid_request(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="width:height"):
        parse_aspect_ratio(bad)


async def test_bad_aspect_ratio_in_options_fails_the_request() -> None:
    with pytest.raises(InvalidRequestError, match="aspect ratio"):
        await _run(_request("", data=_photo(), aspect_ratio="square"))


def test_parse_aspect_ratio_values() -> None:
    assert parse_aspect_ratio("16:9") == pytest.approx(16 / 9)
    assert parse_aspect_ratio(" 1 : 1 ") == 1.0
    assert parse_aspect_ratio("2.39:1") == pytest.approx(2.39)


async def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (80, 40), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    result = await _run(_request("", data=buf.getvalue()))
    assert (result.width, result.height) == (40, 80)


async def test_large_image_is_processed_off_the_event_loop() -> None:
    """Not a timing test: a big image works, and other coroutines run meanwhile."""
    import asyncio

    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    result = await _run(_request("rain fog", data=_photo(2400, 1600)))
    done.set()
    await task
    assert (result.width, result.height) == (2400, 1600)
    assert ticks > 1
