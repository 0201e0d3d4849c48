"""Where things live in storage. One definition of every key shape."""

from __future__ import annotations


def asset_key(sha256: str, ext: str) -> str:
    return f"assets/{sha256[:2]}/{sha256}.{ext.lstrip('.')}"


def thumb_key(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}.webp"


def output_key(job_id: str, output_id: str, ext: str) -> str:
    """One unique slot per output: a retry rewrites the same key, never a second file."""
    return f"outputs/{job_id}/{output_id}.{ext.lstrip('.')}"


def output_thumb_key(job_id: str, output_id: str) -> str:
    return f"outputs/{job_id}/thumbs/{output_id}.webp"


def dataset_file_key(sha256: str, ext: str) -> str:
    """A dataset's label or metadata file, content-addressed like assets."""
    return f"dataset-files/{sha256[:2]}/{sha256}.{ext.lstrip('.') or 'bin'}"
