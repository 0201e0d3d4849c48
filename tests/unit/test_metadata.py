"""Generation metadata in PNG / JPEG / WebP: round trips, pixels untouched, bad input left alone."""

from __future__ import annotations

import io
import logging
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from bananabatch.image_metadata import embed_metadata, read_metadata, sniff_format

META = {
    "prompt": 'a red car, "cinematic", 35mm\nsecond line — ünïcödé ✓ 車',
    "model": "gemini-2.5-flash-image",
    "seed": "1234567",
    "bananabatch:job": "0f" * 16,
    "bananabatch:output": "ab" * 16,
    "Software": "BananaBatch 0.1.0",
}


def _image(mode: str = "RGB", size: tuple[int, int] = (48, 32)) -> Image.Image:
    """A small image with varied pixels so a re-encode would show."""
    im = Image.new(mode, size)
    bands = len(mode) if mode in ("RGB", "RGBA") else 1
    for x in range(size[0]):
        for y in range(size[1]):
            value = ((x * 7 + y * 13) % 256, (x * 3) % 256, (y * 5) % 256, (x + y) % 256)
            im.putpixel((x, y), value[:bands] if bands > 1 else value[0])
    return im


def _encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, im.size, im.tobytes()


def _png_chunk_types(data: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def _png_chunks_crc_ok(data: bytes) -> bool:
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        body = data[pos + 4 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(body) & 0xFFFFFFFF != crc:
            return False
        pos += 12 + length
    return True


# ----------------------------------------------------------------------------- PNG


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_png_round_trip_keeps_pixels(mode: str) -> None:
    im = _image("RGB").convert(mode) if mode != "RGBA" else _image("RGBA")
    data = _encode(im, "PNG")
    out = embed_metadata(data, "image/png", META)
    assert out != data
    assert read_metadata(out, "image/png") == META
    assert _pixels(out) == _pixels(data)
    assert _png_chunks_crc_ok(out)


def test_png_text_chunks_sit_before_idat_and_pillow_sees_them() -> None:
    out = embed_metadata(_encode(_image(), "PNG"), "image/png", META)
    types = _png_chunk_types(out)
    first_idat = types.index(b"IDAT")
    text_positions = [i for i, t in enumerate(types) if t in (b"tEXt", b"iTXt")]
    assert len(text_positions) == len(META)
    assert max(text_positions) < first_idat
    assert types[0] == b"IHDR" and types[-1] == b"IEND"
    # Pillow reads pre-IDAT text without decoding the pixels.
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["prompt"] == META["prompt"]
        assert im.info["seed"] == "1234567"


def test_png_uses_itxt_only_for_non_latin1_values() -> None:
    out = embed_metadata(_encode(_image(), "PNG"), "image/png", {"seed": "7", "prompt": "車"})
    types = _png_chunk_types(out)
    assert types.count(b"tEXt") == 1
    assert types.count(b"iTXt") == 1


def test_png_reembed_replaces_same_keys_and_keeps_others() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone")
    info.add_text("seed", "1")
    info.add_text("Comment", "compressed " * 20, zip=True)  # a zTXt chunk
    data = _encode(_image(), "PNG", pnginfo=info)
    once = embed_metadata(data, "image/png", META)
    twice = embed_metadata(once, "image/png", {**META, "seed": "99"})
    meta = read_metadata(twice, "image/png")
    assert meta["seed"] == "99"
    assert meta["Author"] == "someone"
    assert meta["Comment"] == "compressed " * 20
    assert meta["prompt"] == META["prompt"]
    # No duplicate chunks: one per key.
    text_chunks = [t for t in _png_chunk_types(twice) if t in (b"tEXt", b"iTXt", b"zTXt")]
    assert len(text_chunks) == len(META) + 2


def test_png_invalid_keyword_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        out = embed_metadata(_encode(_image(), "PNG"), "image/png", {"": "x", "seed": "3"})
    assert read_metadata(out, "image/png") == {"seed": "3"}
    assert "not a valid PNG keyword" in caplog.text


# ---------------------------------------------------------------------------- JPEG


def _sos_offset(data: bytes) -> int:
    return data.index(b"\xff\xda")


def test_jpeg_round_trip_copies_scan_data_verbatim() -> None:
    data = _encode(_image(), "JPEG", quality=87)
    out = embed_metadata(data, "image/jpeg", META)
    assert read_metadata(out, "image/jpeg") == META
    assert _pixels(out) == _pixels(data)
    # Everything from the first scan on is byte-identical: no re-encode.
    assert out[_sos_offset(out) :] == data[_sos_offset(data) :]
    assert out[2:4] == b"\xff\xe0"  # the JFIF APP0 still comes first
    with Image.open(io.BytesIO(out)) as im:
        assert im.getexif()[0x0131] == "BananaBatch 0.1.0"


def test_jpeg_keeps_existing_exif_tags() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW
    exif[0x010F] = "ACME Cameras"  # Make
    data = _encode(_image(), "JPEG", quality=90, exif=exif.tobytes())
    out = embed_metadata(data, "image/jpeg", META)
    assert read_metadata(out, "image/jpeg") == META
    with Image.open(io.BytesIO(out)) as im:
        tags = im.getexif()
        assert tags[0x0112] == 6
        assert tags[0x010F] == "ACME Cameras"
    assert out.count(b"Exif\x00\x00") == 1  # replaced, not duplicated
    assert _pixels(out) == _pixels(data)


def test_jpeg_prompt_too_long_for_one_segment_is_truncated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _encode(_image(), "JPEG")
    long_meta = {**META, "prompt": "word " * 20_000}
    with caplog.at_level(logging.WARNING):
        out = embed_metadata(data, "image/jpeg", long_meta)
    meta = read_metadata(out, "image/jpeg")
    assert meta["seed"] == META["seed"]
    assert 0 < len(meta["prompt"]) < len(long_meta["prompt"])
    assert long_meta["prompt"].startswith(meta["prompt"])
    assert "truncated" in caplog.text
    assert _pixels(out) == _pixels(data)


def test_foreign_exif_description_is_not_called_a_prompt() -> None:
    exif = Image.Exif()
    exif[0x010E] = "holiday photo"
    data = _encode(_image(), "JPEG", exif=exif.tobytes())
    assert read_metadata(data, "image/jpeg") == {"ImageDescription": "holiday photo"}


# ---------------------------------------------------------------------------- WebP


def _webp_fourccs(data: bytes) -> list[bytes]:
    fourccs, pos = [], 12
    while pos + 8 <= len(data):
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        fourccs.append(data[pos : pos + 4])
        pos += 8 + size + (size & 1)
    return fourccs


@pytest.mark.parametrize(
    ("mode", "options", "first_chunk"),
    [
        ("RGB", {"quality": 80}, b"VP8 "),  # simple lossy
        ("RGB", {"lossless": True}, b"VP8L"),  # simple lossless
        ("RGBA", {"lossless": True}, b"VP8L"),  # lossless with alpha
        ("RGBA", {"quality": 80}, b"VP8X"),  # lossy + alpha: already extended
    ],
)
def test_webp_round_trip_keeps_pixels(
    mode: str, options: dict[str, object], first_chunk: bytes
) -> None:
    im = _image(mode)
    if mode == "RGBA":
        im.putpixel((0, 0), (255, 0, 0, 0))  # real transparency
    data = _encode(im, "WEBP", **options)
    assert _webp_fourccs(data)[0] == first_chunk
    out = embed_metadata(data, "image/webp", META)
    assert read_metadata(out, "image/webp") == META
    assert _pixels(out) == _pixels(data)
    fourccs = _webp_fourccs(out)
    assert fourccs[0] == b"VP8X"
    assert fourccs[-1] == b"EXIF"
    assert out[16 + 4] & 0x08  # VP8X EXIF flag
    assert bool(out[16 + 4] & 0x10) == (mode == "RGBA")  # alpha flag follows the bitstream
    (riff_size,) = struct.unpack("<I", out[4:8])
    assert riff_size == len(out) - 8
    with Image.open(io.BytesIO(out)) as reopened:
        assert reopened.size == im.size
        assert reopened.getexif()[0x0131] == "BananaBatch 0.1.0"


def test_webp_reembed_replaces_exif_chunk() -> None:
    data = _encode(_image(), "WEBP", quality=70)
    once = embed_metadata(data, "image/webp", META)
    twice = embed_metadata(once, "image/webp", {**META, "seed": "5"})
    assert _webp_fourccs(twice).count(b"EXIF") == 1
    assert read_metadata(twice, "image/webp")["seed"] == "5"


# ---------------------------------------------------------------- bad or odd input


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"", "image/png"),
        (b"not an image at all", "image/png"),
        (b"GIF89a" + b"\x00" * 20, "image/gif"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", "image/png"),  # truncated PNG
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),  # JPEG cut before any scan
        (b"RIFF\xff\xff\x00\x00WEBPVP8 ", "image/webp"),  # RIFF size past the end
    ],
)
def test_unusable_input_comes_back_unchanged(
    data: bytes, mime: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bananabatch.image_metadata"):
        assert embed_metadata(data, mime, META) == data
    assert caplog.records, "a warning says why the metadata was not written"
    assert read_metadata(data, mime) == {}


def test_format_is_taken_from_the_bytes_not_the_declared_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _encode(_image(), "PNG")
    with caplog.at_level(logging.WARNING):
        out = embed_metadata(data, "image/jpeg", META)
    assert sniff_format(out) == "png"
    assert read_metadata(out, "image/png") == META
    assert "actually png" in caplog.text


def test_image_without_metadata_reads_empty() -> None:
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        assert read_metadata(_encode(_image(), fmt), mime) == {}


def test_empty_meta_is_a_no_op() -> None:
    data = _encode(_image(), "PNG")
    assert embed_metadata(data, "image/png", {}) == data
