"""Generators for good and hostile upload files, built in memory with Pillow/zipfile.

Nothing binary is committed: every test (ingest unit/integration tests, API
tests) builds the files it needs from here. `bad_files()` / `good_files()` are
ready-made catalogues pairing a file name and bytes with the outcome ingest
must produce, so the API suite can push the very same files through HTTP.
"""

from __future__ import annotations

import io
import random
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

# ---------------------------------------------------------------- images


def _noise_rgb(size: tuple[int, int], seed: int) -> Image.Image:
    """A deterministic image with enough detail that JPEG files are not tiny."""
    rng = random.Random(seed)
    w, h = size
    base = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(base)
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = min(w - 1, x0 + rng.randrange(1, w)), min(h - 1, y0 + rng.randrange(1, h))
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    noise = Image.effect_noise(size, 40).convert("RGB")
    return Image.blend(base, noise, 0.25)


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def jpeg_photo(size: tuple[int, int] = (64, 48), seed: int = 0, quality: int = 90) -> bytes:
    return _save(_noise_rgb(size, seed), "JPEG", quality=quality)


def png_image(size: tuple[int, int] = (64, 48), seed: int = 0, mode: str = "RGB") -> bytes:
    im = _noise_rgb(size, seed)
    if mode != "RGB":
        im = im.convert(mode)
    return _save(im, "PNG")


def webp_image(size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    return _save(_noise_rgb(size, seed), "WEBP", quality=80)


def bmp_image(size: tuple[int, int] = (32, 24), seed: int = 0) -> bytes:
    return _save(_noise_rgb(size, seed), "BMP")


def tiff_image(size: tuple[int, int] = (32, 24), seed: int = 0) -> bytes:
    return _save(_noise_rgb(size, seed), "TIFF")


def palette_png_with_transparency(size: tuple[int, int] = (32, 24)) -> bytes:
    im = Image.new("P", size, 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 2, size[1]), fill=1)
    return _save(im, "PNG", transparency=0)


def truncated_jpeg(keep: float = 0.6) -> bytes:
    """A real JPEG cut short: the header parses, the scan data ends early."""
    data = jpeg_photo((160, 120), seed=7)
    return data[: int(len(data) * keep)]


def png_named_jpg() -> bytes:
    """PNG bytes; upload them under a `.jpg` name."""
    return png_image((40, 30), seed=11)


def text_named_png() -> bytes:
    return b"This is a plain text file that somebody renamed to .png\n" * 4


def empty_file() -> bytes:
    return b""


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def raw_png(
    width: int, height: int, *, bit_depth: int, colour_type: int, rows: Iterable[bytes]
) -> bytes:
    """A PNG written by hand (filter 0 on every row): for what Pillow cannot save."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def decompression_bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A ~100-byte PNG whose header claims width x height pixels (one tiny IDAT).

    Any decoder that trusts the header would allocate width*height bytes; the
    validator must refuse it from the header alone.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def cmyk_jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    return _save(_noise_rgb(size, 3).convert("CMYK"), "JPEG", quality=90)


def png_16bit_grey(size: tuple[int, int] = (32, 16)) -> bytes:
    """16-bit greyscale gradient 0..65535 (left to right)."""
    w, h = size
    row = b"".join(struct.pack(">H", x * 65535 // (w - 1)) for x in range(w))
    return raw_png(w, h, bit_depth=16, colour_type=0, rows=[row] * h)


def png_16bit_rgb(size: tuple[int, int] = (32, 16)) -> bytes:
    w, h = size
    row = b"".join(struct.pack(">HHH", x * 65535 // (w - 1), 0, 65535) for x in range(w))
    return raw_png(w, h, bit_depth=16, colour_type=2, rows=[row] * h)


def animated_gif(frames: int = 3, size: tuple[int, int] = (32, 24)) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buf.getvalue()


def truncated_animated_gif() -> bytes:
    """An animated GIF cut short inside its second frame's header (the first frame is whole).

    Pillow's `is_animated` parses that header and raised `struct.error` here.
    """
    data = animated_gif(frames=3)
    control = b"\x21\xf9\x04"  # graphic control extension, one per frame
    second = data.index(control, data.index(control) + 1)
    return data[: second + 8 + 3]  # the extension (8 bytes) + 3 bytes of the descriptor


def exif_rotated_jpeg(orientation: int = 6, size: tuple[int, int] = (40, 20)) -> bytes:
    """Stored landscape (left half red, right half blue) with an EXIF orientation tag.

    Orientation 6 means "rotate 90 degrees clockwise to display": upright, the
    photo is portrait (20x40) with red on top.
    """
    w, h = size
    im = Image.new("RGB", size, (0, 0, 255))
    ImageDraw.Draw(im).rectangle((0, 0, w // 2 - 1, h - 1), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(im, "JPEG", quality=95, exif=exif.tobytes())


def corrupt_png() -> bytes:
    """A PNG whose compressed pixel data is garbage (header and chunk layout intact)."""
    good = png_image((64, 48), seed=5)
    idat = good.index(b"IDAT") + 4
    broken = bytearray(good)
    for i in range(idat + 2, min(idat + 40, len(broken) - 16)):
        broken[i] ^= 0xA5
    return bytes(broken)


def ppm_image() -> bytes:
    """A real image in a format we do not accept (Netpbm)."""
    return _save(_noise_rgb((16, 16), 9), "PPM")


def heic_like() -> bytes:
    """The start of an iPhone HEIC file: enough for the format to be recognised."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic" + b"\x00" * 64


def oversized_file(size: int) -> bytes:
    """A valid JPEG padded with trailing bytes to exactly `size` bytes."""
    data = jpeg_photo((16, 16), seed=99)
    if size < len(data):
        raise ValueError(f"oversized_file needs at least {len(data)} bytes")
    return data + b"\x00" * (size - len(data))


UNICODE_NAMES: tuple[str, ...] = (
    "café/ñandú 01.jpg",
    "фото/снимок 2.png",
    "日本/写真 3.jpg",
    "my photos/summer day (1) .jpg",
    "emoji 🍌/banana 🍌.png",
)


def nfd(path: str) -> str:
    """The macOS spelling of a name (decomposed accents): must import as its NFC form."""
    return unicodedata.normalize("NFD", path)


def duplicate_names_in_folders() -> list[tuple[str, bytes]]:
    """Same file name, different class folders, different pictures."""
    return [("cat/001.jpg", jpeg_photo(seed=21)), ("dog/001.jpg", jpeg_photo(seed=22))]


# ---------------------------------------------------------------- catalogues


@dataclass(frozen=True)
class Case:
    """One upload file and what ingest must do with it.

    `error` is the expected per-file error code (None = must be accepted);
    `note` is a substring expected among the accepted file's notes.
    """

    name: str
    data: bytes
    error: str | None = None
    note: str | None = None
    mime_type: str | None = None


def bad_files() -> list[Case]:
    return [
        Case("bad/truncated.jpg", truncated_jpeg(), error="truncated"),
        Case("bad/truncated_anim.gif", truncated_animated_gif(), error="truncated"),
        Case("bad/text.png", text_named_png(), error="not_an_image"),
        Case("bad/empty.jpg", empty_file(), error="empty"),
        Case("bad/bomb.png", decompression_bomb_png(), error="too_large"),
        Case("bad/corrupt.png", corrupt_png(), error="corrupt"),
        Case("bad/netpbm.ppm", ppm_image(), error="unsupported_format"),
        Case("bad/iphone.heic", heic_like(), error="unsupported_format"),
    ]


def good_files() -> list[Case]:
    """Files that must be accepted, some after normalisation."""
    return [
        Case("good/photo.jpg", jpeg_photo(seed=1), mime_type="image/jpeg"),
        Case("good/really_png.jpg", png_named_jpg(), mime_type="image/png"),
        Case("good/cmyk.jpg", cmyk_jpeg(), note="CMYK converted to RGB", mime_type="image/jpeg"),
        Case("good/deep.png", png_16bit_grey(), note="16-bit", mime_type="image/png"),
        Case("good/anim.gif", animated_gif(), note="first frame", mime_type="image/png"),
        Case(
            "good/rotated.jpg",
            exif_rotated_jpeg(),
            note="EXIF orientation applied",
            mime_type="image/jpeg",
        ),
        Case("good/pic.webp", webp_image(seed=2), mime_type="image/webp"),
        Case("good/pic.bmp", bmp_image(seed=3), note="BMP converted to PNG", mime_type="image/png"),
        Case("good/pic.tiff", tiff_image(seed=4), note="TIFF converted", mime_type="image/png"),
    ]


# ---------------------------------------------------------------- ZIP archives


@dataclass(frozen=True)
class ZipEntry:
    name: str
    data: bytes = b""
    symlink: bool = False
    directory: bool = False
    compress: int = zipfile.ZIP_DEFLATED


def build_zip(path: Path, entries: Iterable[ZipEntry]) -> Path:
    """Write entries exactly as named (no sanitising: hostile names stay hostile)."""
    with zipfile.ZipFile(path, "w") as zf:
        for e in entries:
            info = zipfile.ZipInfo(
                e.name + ("/" if e.directory and not e.name.endswith("/") else "")
            )
            info.compress_type = e.compress
            info.create_system = 3  # Unix: mode bits live in external_attr's high word
            if e.symlink:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            elif e.directory:
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, e.data)
    return path


def dataset_zip(path: Path, *, top: str | None = "dataset") -> Path:
    """A normal dataset ZIP as macOS Finder makes it: top folder, classes, clutter."""
    prefix = f"{top}/" if top else ""
    entries = [
        ZipEntry(f"{prefix}cat", directory=True),
        ZipEntry(f"{prefix}cat/001.jpg", jpeg_photo(seed=31)),
        ZipEntry(f"{prefix}cat/002.png", png_image(seed=32)),
        ZipEntry(f"{prefix}dog/001.jpg", jpeg_photo(seed=33)),
        ZipEntry(f"{prefix}.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ZipEntry(f"__MACOSX/{prefix}cat/._001.jpg", b"\x00\x05\x16\x07"),
        ZipEntry(f"{prefix}dog/Thumbs.db", b"\xd0\xcf\x11\xe0"),
    ]
    return build_zip(path, entries)


def zip_with_traversal(path: Path) -> Path:
    return build_zip(
        path,
        [
            ZipEntry("../evil.jpg", jpeg_photo(seed=41)),
            ZipEntry("cat/../../evil2.jpg", jpeg_photo(seed=42)),
            ZipEntry("cat/ok.jpg", jpeg_photo(seed=43)),
        ],
    )


def zip_with_absolute_paths(path: Path) -> Path:
    return build_zip(
        path,
        [
            ZipEntry("/etc/evil.jpg", jpeg_photo(seed=51)),
            ZipEntry("C:/Windows/evil.jpg", jpeg_photo(seed=52)),
            ZipEntry("D:\\evil.jpg", jpeg_photo(seed=53)),
            ZipEntry("\\\\server\\share\\evil.jpg", jpeg_photo(seed=54)),
            ZipEntry("dog/ok.jpg", jpeg_photo(seed=55)),
        ],
    )


def zip_with_symlink(path: Path) -> Path:
    return build_zip(
        path,
        [
            ZipEntry("cat/link.jpg", b"/etc/passwd", symlink=True),
            ZipEntry("cat/ok.jpg", jpeg_photo(seed=61)),
        ],
    )


def zip_bomb(path: Path, expanded_bytes: int = 32 * 1024 * 1024) -> Path:
    """One entry of zeros that deflates ~1000:1: a few tens of KB on disk."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        info = zipfile.ZipInfo("dataset/huge.bmp")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            chunk = b"\x00" * (1024 * 1024)
            left = expanded_bytes
            while left > 0:
                fh.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
        zf.writestr("dataset/ok.jpg", jpeg_photo(seed=71))
    return path


def zip_with_many_entries(path: Path, count: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(count):
            zf.writestr(f"f/{i}.txt", b"")
    return path


def zip_with_lying_size(path: Path, *, delta: int = -100) -> Path:
    """A stored JPEG entry whose central-directory size is off by `delta` bytes."""
    data = jpeg_photo((64, 64), seed=81)
    build_zip(path, [ZipEntry("cat/liar.jpg", data, compress=zipfile.ZIP_STORED)])
    raw = bytearray(path.read_bytes())
    cd = raw.rindex(b"PK\x01\x02")
    (size,) = struct.unpack_from("<I", raw, cd + 24)
    struct.pack_into("<I", raw, cd + 24, size + delta)
    path.write_bytes(bytes(raw))
    return path


def not_a_zip(path: Path) -> Path:
    path.write_bytes(b"this is not a zip archive at all\n" * 10)
    return path
