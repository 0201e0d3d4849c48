"""Image validation, normalisation for the provider, and thumbnails."""

from __future__ import annotations

import io
import resource
import time

import pytest
from PIL import Image

from bananabatch.errors import BadUpload
from bananabatch.ingest.images import REASONS, ImageRejected, ValidatedImage, validate_image
from bananabatch.ingest.thumbnails import make_thumbnail
from tests import badinput as bi

MAX_PIXELS = 64_000_000


def check(data: bytes, name: str = "x.jpg", max_pixels: int = MAX_PIXELS) -> ValidatedImage:
    return validate_image(data, name=name, max_pixels=max_pixels)


def rejected(data: bytes, name: str = "photo.jpg", max_pixels: int = MAX_PIXELS) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        validate_image(data, name=name, max_pixels=max_pixels)
    exc = info.value
    assert isinstance(exc, BadUpload)
    assert exc.reason in REASONS
    assert exc.message.startswith(f"{name}: ")
    assert exc.details == {"file": name, "reason": exc.reason}
    return exc


def rgba(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """A pixel as a tuple (typed for mypy: getpixel returns a union)."""
    value = im.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def grey(im: Image.Image, xy: tuple[int, int]) -> int:
    value = im.getpixel(xy)
    assert isinstance(value, int)
    return value


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# ------------------------------------------------------------------ accepted as is


def test_plain_jpeg_keeps_original_bytes() -> None:
    data = bi.jpeg_photo((64, 48), seed=1)
    v = check(data)
    assert v.data is data
    assert (v.format, v.mime_type, v.ext) == ("JPEG", "image/jpeg", "jpg")
    assert (v.width, v.height) == (64, 48)
    assert v.original_format == "JPEG"
    assert not v.normalised
    assert v.notes == ()


@pytest.mark.parametrize(
    ("data", "fmt", "ext"),
    [
        (bi.png_image(seed=2), "PNG", "png"),
        (bi.png_image(seed=2, mode="RGBA"), "PNG", "png"),
        (bi.png_image(seed=2, mode="L"), "PNG", "png"),
        (bi.webp_image(seed=3), "WEBP", "webp"),
    ],
)
def test_provider_ready_formats_are_untouched(data: bytes, fmt: str, ext: str) -> None:
    v = check(data, "img")
    assert v.data is data
    assert (v.format, v.ext, v.normalised) == (fmt, ext, False)


def test_png_named_jpg_is_a_png() -> None:
    data = bi.png_named_jpg()
    v = check(data, "holiday.jpg")
    assert (v.format, v.mime_type, v.ext) == ("PNG", "image/png", "png")
    assert v.data is data


# ------------------------------------------------------------------ normalised


def test_cmyk_jpeg_becomes_rgb_jpeg() -> None:
    v = check(bi.cmyk_jpeg())
    assert v.normalised
    assert "CMYK converted to RGB" in v.notes
    im = decode(v.data)
    assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (40, 30))
    assert v.format == "JPEG"


def test_16bit_grey_png_is_scaled_not_clipped() -> None:
    v = check(bi.png_16bit_grey((32, 16)), "deep.png")
    assert v.normalised
    assert "16-bit image converted to 8-bit" in v.notes
    im = decode(v.data)
    assert im.mode == "L"
    assert im.getpixel((0, 0)) == 0
    assert im.getpixel((31, 0)) == 255
    assert 110 <= grey(im, (16, 0)) <= 145  # a clipping convert would give 255 here
    assert v.data[24] == 8  # IHDR bit depth


def test_16bit_rgb_png_becomes_8bit() -> None:
    data = bi.png_16bit_rgb()
    assert data[24] == 16
    v = check(data, "deep.png")
    assert v.normalised
    assert "16-bit image converted to 8-bit" in v.notes
    assert v.data[24] == 8
    im = decode(v.data)
    assert im.mode == "RGB"
    assert im.getpixel((31, 0)) == (255, 0, 255)


def test_animated_gif_first_frame_as_png() -> None:
    v = check(bi.animated_gif(frames=3), "anim.gif")
    assert (v.format, v.ext, v.original_format) == ("PNG", "png", "GIF")
    assert any("first frame of animated GIF" in n for n in v.notes)
    im = decode(v.data)
    assert getattr(im, "n_frames", 1) == 1
    assert im.convert("RGB").getpixel((0, 0)) == (255, 0, 0)  # frame 0 is red


def test_exif_orientation_is_applied() -> None:
    data = bi.exif_rotated_jpeg(orientation=6, size=(40, 20))
    v = check(data, "rotated.jpg")
    assert "EXIF orientation applied" in v.notes
    assert (v.width, v.height) == (20, 40)
    assert v.format == "JPEG"
    im = decode(v.data)
    assert im.size == (20, 40)
    assert im.getexif().get(0x0112, 1) == 1
    top, bottom = rgba(im, (10, 3)), rgba(im, (10, 36))
    assert top[0] > 200 and top[2] < 60  # red went to the top
    assert bottom[2] > 200 and bottom[0] < 60


def test_exif_orientation_1_keeps_original() -> None:
    data = bi.exif_rotated_jpeg(orientation=1)
    v = check(data)
    assert v.data is data
    assert (v.width, v.height) == (40, 20)


def test_palette_png_with_transparency_becomes_rgba() -> None:
    v = check(bi.palette_png_with_transparency(), "p.png")
    assert "palette image converted to RGBA" in v.notes
    im = decode(v.data)
    assert im.mode == "RGBA"
    assert rgba(im, (20, 5))[3] == 0  # index 0 was transparent


def test_la_png_becomes_rgba() -> None:
    im = Image.new("LA", (8, 8), (128, 200))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    v = check(buf.getvalue(), "la.png")
    assert decode(v.data).mode == "RGBA"
    assert v.normalised


@pytest.mark.parametrize(
    ("data", "fmt"), [(bi.bmp_image(), "BMP"), (bi.tiff_image(), "TIFF")], ids=["bmp", "tiff"]
)
def test_bmp_and_tiff_become_png(data: bytes, fmt: str) -> None:
    v = check(data, f"pic.{fmt.lower()}")
    assert (v.format, v.mime_type, v.original_format) == ("PNG", "image/png", fmt)
    assert f"{fmt} converted to PNG" in v.notes
    original = decode(data).convert("RGB")
    assert decode(v.data).convert("RGB").tobytes() == original.tobytes()  # lossless


def test_multipage_tiff_takes_first_page() -> None:
    pages = [Image.new("RGB", (8, 8), c) for c in ((0, 255, 0), (255, 0, 0))]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    v = check(buf.getvalue(), "scan.tiff")
    assert any("first page of multi-page TIFF" in n for n in v.notes)
    assert decode(v.data).convert("RGB").getpixel((0, 0)) == (0, 255, 0)


# ------------------------------------------------------------------ rejected


def test_empty_file() -> None:
    exc = rejected(b"", "empty.jpg")
    assert exc.reason == "empty"
    assert "0 bytes" in exc.message


@pytest.mark.parametrize(
    "data",
    [bi.text_named_png(), b"BM" + b"W is a car brand, not a bitmap. " * 4, b"\x00" * 100],
    ids=["text", "text-starting-BM", "zeros"],
)
def test_not_an_image(data: bytes) -> None:
    exc = rejected(data, "notes.png")
    assert exc.reason == "not_an_image"
    assert "not an image" in exc.message


@pytest.mark.parametrize(
    "data", [bi.jpeg_photo()[:100], bi.bmp_image()[:20], b"GIF89a"], ids=["jpeg", "bmp", "gif"]
)
def test_header_cut_short_is_truncated(data: bytes) -> None:
    assert rejected(data).reason == "truncated"


def test_truncated_jpeg_message() -> None:
    exc = rejected(bi.truncated_jpeg(), "photo.jpg")
    assert exc.reason == "truncated"
    assert exc.message == (
        "photo.jpg: the image data is truncated (the file was cut short). "
        "Re-export or re-upload it."
    )


@pytest.mark.parametrize("keep", [0.02, 0.3, 0.9])
def test_truncated_jpeg_anywhere(keep: float) -> None:
    assert rejected(bi.truncated_jpeg(keep)).reason == "truncated"


@pytest.mark.parametrize("keep", [0.2, 0.6, 0.95])
def test_truncated_png(keep: float) -> None:
    data = bi.png_image((96, 64), seed=9)
    assert rejected(data[: int(len(data) * keep)], "a.png").reason == "truncated"


@pytest.mark.parametrize("extra", [0, -8, 2])
def test_animated_gif_cut_short_in_a_later_frame_is_truncated(extra: int) -> None:
    """Pillow raises struct.error/IndexError from `is_animated` here: still a per-file error."""
    data = bi.truncated_animated_gif()
    assert rejected(data[: len(data) + extra] if extra else data, "a.gif").reason == "truncated"


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_unidentifiable_image_message_names_no_internals() -> None:
    """A TIFF signature with a header Pillow cannot identify: no `<_io.BytesIO ...>` text."""
    exc = rejected(b"II*\x00" + b"\xff" * 40, "scan.tif")
    assert exc.reason == "corrupt"
    assert "BytesIO" not in exc.message and "0x" not in exc.message
    assert "variant this server cannot read" in exc.message


def test_corrupt_png() -> None:
    exc = rejected(bi.corrupt_png(), "c.png")
    assert exc.reason == "corrupt"
    assert "Re-export" in exc.message


@pytest.mark.parametrize(
    ("data", "label"),
    [(bi.ppm_image(), "PPM"), (bi.heic_like(), "HEIC"), (b"<svg xmlns='x'></svg>", "SVG")],
)
def test_unsupported_formats_are_named(data: bytes, label: str) -> None:
    exc = rejected(data, "pic")
    assert exc.reason == "unsupported_format"
    assert label in exc.message
    assert "JPEG, PNG or WebP" in exc.message


def test_decompression_bomb_rejected_fast_without_allocating() -> None:
    data = bi.decompression_bomb_png(30000, 30000)
    assert len(data) < 1000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    exc = rejected(data, "bomb.png")
    elapsed = time.perf_counter() - start
    rss_growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert exc.reason == "too_large"
    assert "megapixel limit" in exc.message
    assert elapsed < 0.5
    assert rss_growth_kb < 100 * 1024  # 900 MB would have been allocated by a decode


def test_our_pixel_limit_is_checked_from_the_header() -> None:
    # Below Pillow's own bomb threshold: only our limit can stop it, and from the header.
    data = bi.decompression_bomb_png(3000, 3000)
    start = time.perf_counter()
    exc = rejected(data, "big.png", max_pixels=1_000_000)
    assert time.perf_counter() - start < 0.5
    assert exc.reason == "too_large"
    assert "3000x3000 (9.0 megapixels)" in exc.message
    assert "1.0 megapixel limit" in exc.message


def test_image_at_the_pixel_limit_is_accepted() -> None:
    v = check(bi.png_image((100, 100)), "ok.png", max_pixels=10_000)
    assert (v.width, v.height) == (100, 100)


# ------------------------------------------------------------------ thumbnails


def test_thumbnail_is_small_webp_with_aspect() -> None:
    data = bi.jpeg_photo((2000, 1500), seed=4)
    thumb = make_thumbnail(data, 256)
    im = decode(thumb)
    assert im.format == "WEBP"
    assert im.size == (256, 192)


def test_thumbnail_never_upscales() -> None:
    im = decode(make_thumbnail(bi.png_image((40, 30)), 256))
    assert im.size == (40, 30)


def test_thumbnail_keeps_alpha_and_handles_odd_modes() -> None:
    src = Image.new("RGBA", (300, 300), (255, 0, 0, 255))
    src.paste((0, 0, 0, 0), (0, 0, 150, 300))
    buf = io.BytesIO()
    src.save(buf, "PNG")
    thumb = decode(make_thumbnail(buf.getvalue(), 64))
    assert thumb.mode == "RGBA"
    assert thumb.size == (64, 64)
    assert rgba(thumb, (5, 30))[3] == 0
    assert rgba(thumb, (60, 30))[3] == 255
    grey16 = decode(make_thumbnail(bi.png_16bit_grey((512, 16)), 128))
    assert grey16.size == (128, 4)
    assert grey(grey16.convert("L"), (127, 2)) > 200  # scaled, not clipped to black/white
    assert decode(make_thumbnail(bi.cmyk_jpeg(), 16)).mode == "RGB"


def test_thumbnail_applies_exif_orientation() -> None:
    im = decode(make_thumbnail(bi.exif_rotated_jpeg(6, (400, 200)), 100))
    assert im.size == (50, 100)


def test_thumbnail_of_garbage_raises() -> None:
    with pytest.raises(ImageRejected) as info:
        make_thumbnail(b"nope")
    assert info.value.reason == "corrupt"


def _animated(fmt: str, **params: object) -> bytes:
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], **params)
    return buf.getvalue()


def test_camera_mpo_is_a_jpeg_kept_as_is() -> None:
    data = _animated("MPO")
    v = check(data, "camera.jpg")
    assert (v.format, v.original_format, v.mime_type) == ("JPEG", "JPEG", "image/jpeg")
    assert v.data is data
    assert not v.normalised


@pytest.mark.parametrize(("fmt", "target"), [("PNG", "PNG"), ("WEBP", "WEBP")])
def test_animated_png_and_webp_keep_the_first_frame(fmt: str, target: str) -> None:
    v = check(_animated(fmt), "anim")
    assert v.format == target
    assert f"first frame of animated {fmt}" in v.notes
    im = decode(v.data)
    assert not getattr(im, "is_animated", False)
    red = rgba(im.convert("RGB"), (0, 0))
    assert red[0] > 240 and red[1] < 20


@pytest.mark.parametrize(
    ("mode", "out_mode", "note"),
    [
        ("1", "L", "1-bit image converted"),
        ("I", "L", "high bit depth image converted"),
        ("F", "L", "high bit depth image converted"),
        ("CMYK", "RGB", "CMYK converted to RGB"),
        ("YCbCr", "RGB", "YCbCr converted to RGB"),
    ],
)
def test_tiff_modes_are_normalised(mode: str, out_mode: str, note: str) -> None:
    buf = io.BytesIO()
    Image.new(mode, (8, 8)).save(buf, "TIFF")
    v = check(buf.getvalue(), "scan.tif")
    assert decode(v.data).mode == out_mode
    assert any(note in n for n in v.notes), v.notes
