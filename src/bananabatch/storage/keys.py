"""Where things live in storage. One definition of every key shape."""

from __future__ import annotations

EXT_FOR_MIME = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MIME_FOR_EXT = {v: k for k, v in EXT_FOR_MIME.items()}
EXT_FOR_FORMAT = {"png": "png", "jpeg": "jpg", "webp": "webp"}
MIME_FOR_FORMAT = {fmt: MIME_FOR_EXT[ext] for fmt, ext in EXT_FOR_FORMAT.items()}


def asset_key(sha256: str, ext: str) -> str:
    return f"assets/{sha256[:2]}/{sha256}.{ext.lstrip('.')}"


def thumb_key(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}.webp"


def output_key(job_id: str, output_id: str, ext: str) -> str:
    """One unique slot per output: a retry rewrites the same key, never a second file."""
    return f"outputs/{job_id}/{output_id}.{ext.lstrip('.')}"


def output_slot_key(job_id: str, output_id: str, output_format: str | None) -> str:
    """The key a worker uploads an output to, fixed by its slot and the job's format."""
    return output_key(job_id, output_id, EXT_FOR_FORMAT.get(output_format or "png", "png"))


def output_thumb_key(job_id: str, output_id: str) -> str:
    return f"outputs/{job_id}/thumbs/{output_id}.webp"


def dataset_file_key(sha256: str, ext: str) -> str:
    """A dataset's label or metadata file, content-addressed like assets."""
    return f"dataset-files/{sha256[:2]}/{sha256}.{ext.lstrip('.') or 'bin'}"
