"""Real-photo labelled datasets for tests: scikit-image's sample photos with two
coloured regions painted on each (a magenta "sign" and a cyan "tag"), whose boxes
are the labels, written as YOLO (both layouts, boxes or polygons), COCO (Roboflow
or `annotations/` layout), Pascal VOC or class folders, with train/val/test splits.

Everything is built in memory as {relative path: bytes}; `write_tree` and
`write_zip` put it on disk. `region_pixels` finds a painted region again in an
output image, so a test can check that a label still encloses what it labels."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw
from skimage import data as skdata

CLASSES = ("sign", "tag")
COLOURS = {0: (255, 0, 255), 1: (0, 255, 255)}
COCO_IDS = {0: 3, 1: 7}  # deliberately not 0/1-based: ids must survive a round trip
PHOTOS = {  # name -> split
    "astronaut": "train",
    "coffee": "train",
    "chelsea": "train",
    "rocket": "val",
    "camera": "test",
}
LONG_SIDE = 320


@dataclass(frozen=True)
class Region:
    class_id: int
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 (x2/y2 exclusive)


@dataclass
class Photo:
    name: str
    split: str
    image: Image.Image
    regions: list[Region]

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


@dataclass
class Built:
    files: dict[str, bytes] = field(default_factory=dict)
    photos: dict[str, Photo] = field(default_factory=dict)  # image rel_path -> photo


def photo(name: str, split: str) -> Photo:
    arr = getattr(skdata, name)()
    img = Image.fromarray(arr).convert("RGB")
    scale = LONG_SIDE / max(img.size)
    img = img.resize(
        (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
    )
    w, h = img.size
    seed = sum(map(ord, name))
    regions = [
        Region(0, (w // 8 + seed % 20, h // 6, w // 8 + seed % 20 + w // 5, h // 6 + h // 4)),
        Region(1, (w // 2 + seed % 15, h // 2, w // 2 + seed % 15 + w // 6, h // 2 + h // 5)),
    ]
    draw = ImageDraw.Draw(img)
    for r in regions:
        draw.rectangle((r.box[0], r.box[1], r.box[2] - 1, r.box[3] - 1), fill=COLOURS[r.class_id])
    return Photo(name, split, img, regions)


def encode(img: Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _photos() -> list[Photo]:
    return [photo(name, split) for name, split in PHOTOS.items()]


def yolo_line(r: Region, size: tuple[int, int], *, polygon: bool = False) -> str:
    w, h = size
    x1, y1, x2, y2 = r.box
    if polygon:
        pts = [x1, y1, x2, y1, x2, y2, x1, y2]
        norm = [v / (w if i % 2 == 0 else h) for i, v in enumerate(pts)]
        return f"{r.class_id} " + " ".join(f"{v:.6f}" for v in norm)
    return (
        f"{r.class_id} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} "
        f"{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
    )


def yolo(*, layout: str = "ultralytics", polygons: bool = False) -> Built:
    """`images/<split>/x.jpg` + `labels/<split>/x.txt` (ultralytics) or
    `<split>/images/x.jpg` + `<split>/labels/x.txt` (split_first), with data.yaml."""
    built = Built()
    for p in _photos():
        if layout == "ultralytics":
            img_path, lbl_path = f"images/{p.split}/{p.name}.jpg", f"labels/{p.split}/{p.name}.txt"
        else:
            img_path, lbl_path = f"{p.split}/images/{p.name}.jpg", f"{p.split}/labels/{p.name}.txt"
        built.files[img_path] = encode(p.image)
        built.files[lbl_path] = (
            "\n".join(yolo_line(r, p.size, polygon=polygons) for r in p.regions) + "\n"
        ).encode()
        built.photos[img_path] = p
    if layout == "ultralytics":
        paths = {"train": "images/train", "val": "images/val", "test": "images/test"}
    else:
        paths = {"train": "train/images", "val": "val/images", "test": "test/images"}
    doc = {"path": ".", **paths, "names": dict(enumerate(CLASSES))}
    built.files["data.yaml"] = yaml.safe_dump(doc, sort_keys=False).encode()
    return built


def coco(*, layout: str = "roboflow") -> Built:
    """Roboflow: `<split>/_annotations.coco.json` beside the images; otherwise
    `annotations/instances_<split>.json` with images in `<split>/`."""
    built = Built()
    by_split: dict[str, list[Photo]] = {}
    for p in _photos():
        by_split.setdefault(p.split, []).append(p)
    categories = [
        {"id": COCO_IDS[i], "name": n, "supercategory": "object"} for i, n in enumerate(CLASSES)
    ]
    for split, photos in by_split.items():
        images: list[dict[str, object]] = []
        anns: list[dict[str, object]] = []
        for image_id, p in enumerate(photos, start=1):
            rel = f"{split}/{p.name}.jpg"
            built.files[rel] = encode(p.image)
            built.photos[rel] = p
            images.append({"id": image_id, "file_name": f"{p.name}.jpg", "width": p.size[0],
                           "height": p.size[1]})  # fmt: skip
            for r in p.regions:
                x1, y1, x2, y2 = r.box
                anns.append({
                    "id": len(anns) + 1, "image_id": image_id, "category_id": COCO_IDS[r.class_id],
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                    "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]], "iscrowd": 0,
                })  # fmt: skip
        doc = {"info": {"description": "test photos"}, "images": images, "annotations": anns,
               "categories": categories}  # fmt: skip
        path = (
            f"{split}/_annotations.coco.json"
            if layout == "roboflow"
            else f"annotations/instances_{split}.json"
        )
        built.files[path] = json.dumps(doc).encode()
    return built


def voc_xml(p: Photo, filename: str) -> bytes:
    objs = "".join(
        f"<object><name>{CLASSES[r.class_id]}</name><bndbox><xmin>{r.box[0] + 1}</xmin>"
        f"<ymin>{r.box[1] + 1}</ymin><xmax>{r.box[2]}</xmax><ymax>{r.box[3]}</ymax></bndbox></object>"
        for r in p.regions
    )
    return (
        f"<annotation><filename>{filename}</filename><size><width>{p.size[0]}</width>"
        f"<height>{p.size[1]}</height><depth>3</depth></size>{objs}</annotation>"
    ).encode()


def voc() -> Built:
    """`JPEGImages/x.jpg`, `Annotations/x.xml`, `ImageSets/Main/<split>.txt`."""
    built = Built()
    sets: dict[str, list[str]] = {}
    for p in _photos():
        rel = f"JPEGImages/{p.name}.jpg"
        built.files[rel] = encode(p.image)
        built.files[f"Annotations/{p.name}.xml"] = voc_xml(p, f"{p.name}.jpg")
        built.photos[rel] = p
        sets.setdefault(p.split, []).append(p.name)
    for split, names in sets.items():
        built.files[f"ImageSets/Main/{split}.txt"] = ("\n".join(names) + "\n").encode()
    return built


def folders() -> Built:
    """`<split>/<class>/x.jpg`: the class is the larger painted region's."""
    built = Built()
    for i, p in enumerate(_photos()):
        cls = CLASSES[i % 2]
        rel = f"{p.split}/{cls}/{p.name}.jpg"
        built.files[rel] = encode(p.image)
        built.photos[rel] = p
    return built


def write_tree(built: Built, root: Path) -> Path:
    for rel, data in built.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(built: Built, path: Path, *, wrap: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in built.files.items():
            zf.writestr(f"{wrap}/{rel}" if wrap else rel, data)
    return path


def region_pixels(img: Image.Image, class_id: int, tolerance: int = 70) -> np.ndarray:
    """(N, 2) x, y of pixels close to a region's colour (the interior survives
    resampling; its anti-aliased rim may not)."""
    arr = np.asarray(img.convert("RGB"), dtype=np.int16)
    target = np.array(COLOURS[class_id], dtype=np.int16)
    close = np.all(np.abs(arr - target) <= tolerance, axis=2)
    ys, xs = np.nonzero(close)
    return np.stack([xs, ys], axis=1)
