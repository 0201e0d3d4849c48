"""The worker's last step for every generated image, whatever the provider.

Before the call, a dataset job that keeps its sources' frames (`fit_to_source`)
asks for the model's aspect ratio closest to the source's. After it, the image is
brought back to the source's size, the source's labels are carried into its
frame (unless the provider moved them itself, as the classic provider does with
albumentations), and the measurements behind the quality flags are taken: the
server decides the flags, the worker (which has both images in memory) measures.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from bananabatch.contracts import OutputChecks, OutputTransform, SourceLabels
from bananabatch.providers.base import GeneratedImage, GenerationRequest, ImageProvider
from bananabatch.quality import measure
from bananabatch.quality.fit import (
    as_list,
    fit_image,
    fit_matrix,
    map_labels,
    nearest_aspect_ratio,
    stretch_matrix,
    warp,
)

if TYPE_CHECKING:
    from bananabatch.worker.cpu import Offload

log = logging.getLogger(__name__)

_PIL_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
_ALPHA_MIMES = frozenset({"image/png", "image/webp"})  # formats that keep transparency


def _open(data: bytes, keep_alpha: bool = False) -> Image.Image:
    """RGB for measuring; with `keep_alpha`, RGBA when the image has transparency."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        ImageOps.exif_transpose(img, in_place=True)  # no copy of an upright image
    transparent = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    mode = "RGBA" if keep_alpha and transparent else "RGB"
    return img if img.mode == mode else img.convert(mode)


def _source(request: GenerationRequest) -> Image.Image | None:
    if not request.references:
        return None
    try:
        return _open(request.references[0].data)
    except (UnidentifiedImageError, OSError, ValueError):
        return None  # the provider reports an unreadable reference itself


def prepare(request: GenerationRequest) -> GenerationRequest:
    """With `fit_to_source`, ask for the listed aspect ratio closest to the source's."""
    options = request.options
    if not options.fit_to_source or options.aspect_ratio or not options.aspect_ratio_choices:
        return request
    if not request.references:
        return request
    try:
        with Image.open(io.BytesIO(request.references[0].data)) as img:
            size = ImageOps.exif_transpose(img).size
    except (UnidentifiedImageError, OSError, ValueError):
        return request
    choice = nearest_aspect_ratio(size, options.aspect_ratio_choices)
    if choice is None:
        return request
    return replace(request, options=options.model_copy(update={"aspect_ratio": choice}))


def _encode(img: Image.Image, mime_type: str) -> bytes:
    fmt = _PIL_FORMAT.get(mime_type, "PNG")
    if fmt == "JPEG" and img.mode != "RGB":
        img = img.convert("RGB")
    buf = io.BytesIO()
    extra: dict[str, int] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    img.save(buf, fmt, **extra)
    return buf.getvalue()


def _labels_frame(labels: SourceLabels, source: Image.Image) -> np.ndarray:
    """3x3 from the labels' frame to the decoded source (the same size, normally)."""
    return np.diag([source.width / labels.width, source.height / labels.height, 1.0])


def finish(request: GenerationRequest, image: GeneratedImage) -> GeneratedImage:
    """Fit, carry labels, measure. Advisory: bytes that do not decode as an image go
    on as they are, unmeasured (the provider answers for what it returned)."""
    try:
        full = _open(image.data, keep_alpha=image.mime_type in _ALPHA_MIMES)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("output not measured: it does not decode as an image (%s)", exc)
        return replace(image, reference_view=None)
    out = full.convert("RGB") if full.mode != "RGB" else full  # measured without alpha
    source = _source(request)
    transform = image.transform or OutputTransform()
    steps = list(transform.steps)
    data, labels, view = image.data, image.labels, image.reference_view
    model_size = out.size
    fitted = False
    if source is not None and request.options.fit_to_source and out.size != source.size:
        full = fit_image(full, source.size)  # transparency fitted with the pixels
        out = full.convert("RGB") if full.mode != "RGB" else full
        data = _encode(full, image.mime_type)
        fitted = True
        steps.append(
            f"fitted the model's {model_size[0]}x{model_size[1]} to the source's "
            f"{source.width}x{source.height}"
        )
    if fitted and source is not None and view is not None:
        # a provider that moved the labels itself did so in its own frame
        view = fit_image(view, out.size)
        if labels is not None:
            labels = map_labels(labels, fit_matrix(model_size, source.size), out.size)
    matrix = None
    if source is not None and view is None:
        # The provider did not move the layout on purpose: the source is expected
        # where the model frame puts it, stretched and (when fitted) cropped.
        matrix = stretch_matrix(source.size, model_size)
        if fitted:
            matrix = fit_matrix(model_size, source.size) @ matrix
        if labels is None and request.labels is not None:
            labels = map_labels(request.labels, matrix @ _labels_frame(request.labels, source),
                                out.size)  # fmt: skip
    transform = transform.model_copy(
        update={
            "steps": steps,
            "model_size": model_size if fitted else transform.model_size,
            "matrix": as_list(matrix) if matrix is not None else transform.matrix,
        }
    )
    checks = _measure(request, out, source, view, matrix)
    return replace(
        image,
        data=data,
        width=out.width,
        height=out.height,
        labels=labels,
        transform=transform,
        reference_view=None,  # not needed past this point; keeps results small
        checks=checks,
    )


def _measure(
    request: GenerationRequest,
    out: Image.Image,
    source: Image.Image | None,
    view: Image.Image | None,
    matrix: np.ndarray | None,
) -> OutputChecks:
    """The measurements, taken on copies reduced to about `measure.MEASURE_SIDE`: each
    compares at 128 pixels or less, and scaling the source (and the expected layout) up
    to a 2 MB output's full size cost most of the 70 ms a finish took. An image the
    output's size is reduced exactly as the output is, so an unchanged output measures
    as identical to its source."""
    small = measure.measuring_copy(out)
    digest = measure.phash(small)
    values: dict[str, object] = {"phash": digest, "signature": measure.signature(small)}
    source_small = None
    if source is not None:
        source_small = measure.measuring_copy(source)
        same_frame = source_small if source.size == out.size else fit_image(source, small.size)
        values["source_distance"] = measure.hash_distance(measure.phash(same_frame), digest)
        values["source_difference"] = round(measure.mean_difference(same_frame, small), 4)
    keeps_layout = request.options.fit_to_source or request.labels is not None
    if view is not None:  # the provider's, in the output's frame
        view = (
            measure.measuring_copy(view) if view.size == out.size else fit_image(view, small.size)
        )
    elif source is not None and source_small is not None and matrix is not None:
        view = _expected_view(source, source_small, out, small, matrix)
    if view is not None and keeps_layout:
        layout = measure.compare_layout(view, small)
        values["layout_similarity"] = layout.similarity
        values["layout_shift"] = layout.shift
        values["layout_confidence"] = layout.confidence
    return OutputChecks.model_validate(values)


def _expected_view(
    source: Image.Image,
    source_small: Image.Image,
    out: Image.Image,
    small: Image.Image,
    matrix: np.ndarray,
) -> Image.Image:
    """The reduced source where `matrix` (source -> output pixels) puts it in the
    reduced output's frame."""
    if source.size == out.size and np.allclose(matrix, np.eye(3)):
        return source_small
    to_small = np.diag([small.width / out.width, small.height / out.height, 1.0])
    from_small = np.diag(
        [source.width / source_small.width, source.height / source_small.height, 1.0]
    )
    reduced = to_small @ matrix @ from_small
    # `warp` maps pixel corners; at this size half a pixel is a visible shift, so the
    # mapping is taken between pixel centres instead
    to_centres = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    to_corners = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
    return warp(source_small, to_corners @ reduced @ to_centres, small.size)


async def generate_checked(
    provider: ImageProvider, request: GenerationRequest, offload: Offload | None = None
) -> GeneratedImage:
    """`provider.generate` with the aspect ratio chosen for the source before the call
    and `finish` after it, through `offload` (it decodes and resizes images: worker
    processes in the server), else in a thread."""
    asked = prepare(request)
    return await finished(asked, await provider.generate(asked), offload)


async def finished(
    request: GenerationRequest, image: GeneratedImage, offload: Offload | None = None
) -> GeneratedImage:
    """`finish` through `offload`, else in a thread (`request` as `prepare` made it)."""
    if offload is None:
        return await asyncio.to_thread(finish, request, image)
    done, same = await offload(finish_elsewhere, request, image)
    return replace(done, data=image.data) if same else done


def finish_elsewhere(
    request: GenerationRequest, image: GeneratedImage
) -> tuple[GeneratedImage, bool]:
    """`finish` in a worker process, answering without the image bytes when they are
    unchanged (the usual case: nothing was fitted); True then. The caller has them, and
    a 2 MB image sent back costs this server a pickle, a pipe and an unpickle."""
    done = finish(request, image)
    if done.data is image.data:
        return replace(done, data=b""), True
    return done, False
