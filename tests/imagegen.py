"""Generate small real images for tests (nothing binary is committed)."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw


def image_bytes(seed: int, size: tuple[int, int] = (64, 48), fmt: str = "JPEG") -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = (
            min(size[0] - 1, x0 + rng.randrange(4, 30)),
            min(size[1] - 1, y0 + rng.randrange(4, 30)),
        )
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def make_dataset(
    root: Path, classes: dict[str, int], size: tuple[int, int] = (64, 48)
) -> list[str]:
    """Write `count` distinct JPEGs per class folder; returns the relative paths."""
    paths = []
    seed = 0
    for cls, count in classes.items():
        folder = root / cls if cls else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            seed += 1
            (folder / f"{i:03d}.jpg").write_bytes(image_bytes(seed, size))
            paths.append(f"{cls}/{i:03d}.jpg" if cls else f"{i:03d}.jpg")
    return paths
