"""How big a RunPod request and result may be, and whether a job's images fit.

Pure sizing rules, no I/O. RunPod refuses a `/run` body over 10 MB, and a worker
result of about 20 MB of JSON comes back COMPLETED with no output at all
(runpod-python #309), so both directions keep a wide margin. Base64 grows bytes
by 4/3.
"""

from __future__ import annotations

from dataclasses import dataclass

RUN_BODY_LIMIT_BYTES = 10 * 1000 * 1000  # RunPod's documented /run limit ("10 MB")
RUN_BODY_BUDGET_BYTES = 9_500_000  # what we allow ourselves, measured on the exact bytes
RESULT_JSON_BUDGET_BYTES = 14_000_000  # well under the ~20 MB at which results vanish
REFERENCE_MAX_SIDE = 2048  # longest side a reference needs: the models downscale past it
PAYLOAD_OVERHEAD_BYTES = 64 * 1024  # prompts, ids, policy: generous

# Expected upper size of one generated image by (format, size). A 1024x1024 PNG of a
# photo is about 1.7 MB (measured on realistic outputs); busier ones rarely pass 2 MB.
_OUTPUT_BYTES = {
    "png": {"1K": 2_000_000, "2K": 9_000_000, "4K": 32_000_000},
    "jpeg": {"1K": 700_000, "2K": 2_200_000, "4K": 7_000_000},
    "webp": {"1K": 600_000, "2K": 2_000_000, "4K": 6_000_000},
}


def b64_size(n: int) -> int:
    return 4 * ((n + 2) // 3)


def inline_output_limit(slots: int) -> int:
    """Largest raw image a worker may return inline when `slots` share one result."""
    return (RESULT_JSON_BUDGET_BYTES // max(slots, 1)) * 3 // 4


def worst_output_bytes(output_format: str, image_size: str | None) -> int:
    sizes = _OUTPUT_BYTES.get(output_format, _OUTPUT_BYTES["png"])
    return sizes.get((image_size or "1K").upper(), sizes["1K"])


@dataclass(frozen=True)
class TransportRoutes:
    """Which ways exist to move bytes past the inline limits."""

    presigned: bool  # S3 storage: presigned GET/PUT URLs
    server_urls: bool  # BANANABATCH_PUBLIC_URL: signed URLs served by this server

    @property
    def any(self) -> bool:
        return self.presigned or self.server_urls


def transport_problem(
    *,
    reference_sizes: list[int],
    slots_per_task: int,
    output_format: str,
    image_size: str | None,
    routes: TransportRoutes,
) -> str | None:
    """Why no transport fits this job's tasks, or None when one does.

    `reference_sizes` are the byte sizes of the images one task carries (an upper
    bound: downscaling and re-encoding only ever make them smaller).
    """
    if routes.any:
        return None
    inline_refs = sum(b64_size(n) for n in reference_sizes) + PAYLOAD_OVERHEAD_BYTES
    if inline_refs > RUN_BODY_BUDGET_BYTES:
        total_mb = sum(reference_sizes) / 1e6
        return (
            f"The reference images of one task ({len(reference_sizes)} image(s), "
            f"{total_mb:.1f} MB) do not fit RunPod's 10 MB request limit, and there is no "
            "other way to send them. Set BANANABATCH_S3_BUCKET (presigned URLs) or "
            "BANANABATCH_PUBLIC_URL (this server's signed URLs), or use fewer or smaller "
            "references."
        )
    worst = worst_output_bytes(output_format, image_size)
    if worst > inline_output_limit(slots_per_task):
        return (
            f"{image_size or '1K'} {output_format.upper()} images (up to "
            f"{worst / 1e6:.0f} MB each) are too large to come back inside a RunPod result. "
            "Set BANANABATCH_S3_BUCKET or BANANABATCH_PUBLIC_URL so workers can upload "
            "them, or choose a smaller size or JPEG/WebP."
        )
    return None
