"""What an automatic job takes from its dataset: the splits it augments, the
images it varies, and the job settings a labelled dataset implies (outputs kept
in their source's frame, originals in the export)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bananabatch.catalog import ModelInfo
from bananabatch.config import Settings
from bananabatch.datasets.model import split_order
from bananabatch.datasets.service import (
    choose_splits,
    is_geometric,
    label_summary,
    source_splits,
)
from bananabatch.domain.plan import (
    Plan,
    SourceImage,
)
from bananabatch.errors import ValidationFailed
from bananabatch.ingest.dataset_items import dataset_sources
from bananabatch.services.job_requests import AutomaticJobCreate, JobCreate, SplitEstimate
from bananabatch.storage.base import Storage
from bananabatch.storage.factory import build_storage


@dataclass(frozen=True)
class DatasetChoice:
    """What an automatic job takes from its dataset: which splits, which images."""

    label_format: str
    geometric: bool
    classes: list[str]  # names by class id
    splits: list[str] | None  # None: the dataset has no splits
    sources: list[SourceImage]
    split_sizes: dict[str, int]  # images per split ("" outside any split)
    split_of: dict[str, str]  # rel_path -> split of each chosen source
    skipped: int  # images left out for unreadable labels


def store_of(settings: Settings, storage: Storage | None) -> Storage:
    """The runtime's storage; callers without a runtime (scripts, tests) get the one
    `build_runtime` makes from the same settings (the bucket, when one is set)."""
    return storage if storage is not None else build_storage(settings)


def choose_sources(session: Session, storage: Storage, req: AutomaticJobCreate) -> DatasetChoice:
    """The dataset's images in the splits the job augments, minus those whose labels
    could not be read completely (an incomplete label file teaches wrong negatives)."""
    summary = label_summary(session, storage, req.dataset_id)
    geometric = is_geometric(summary)
    splits = choose_splits(summary, req.splits)
    info = source_splits(session, req.dataset_id)
    sizes: dict[str, int] = {}
    sources: list[SourceImage] = []
    split_of: dict[str, str] = {}
    skipped = 0
    for rel_path, asset_id in dataset_sources(session, req.dataset_id):
        split, problem = info.get(rel_path, (None, False))
        sizes[split or ""] = sizes.get(split or "", 0) + 1
        if splits is not None and (split or "") not in splits:
            continue
        if geometric and problem:
            skipped += 1
            continue
        sources.append(SourceImage(rel_path=rel_path, asset_id=asset_id))
        split_of[rel_path] = split or ""
    if not sources and sizes:
        chosen = ", ".join(repr(x) for x in splits or [])
        raise ValidationFailed(
            f"No image to augment in the chosen split(s) {chosen}: pick other splits, or fix "
            "the labels listed as problems.",
            details={"splits": splits},
        )
    return DatasetChoice(
        label_format=str(summary.get("format", "images")),
        geometric=geometric,
        classes=[str(c["name"]) for c in summary.get("classes", [])],
        splits=splits,
        sources=sources,
        split_sizes=sizes,
        split_of=split_of,
        skipped=skipped,
    )


def split_estimates(choice: DatasetChoice | None, plan: Plan) -> list[SplitEstimate]:
    if choice is None or choice.splits is None:
        return []
    outputs: dict[str, int] = {}
    for out in plan.outputs():
        split = choice.split_of.get(out.source_path or "", "")
        outputs[split] = outputs.get(split, 0) + 1
    return [
        SplitEstimate(
            name=name,
            images=n,
            augmented=name in choice.splits,
            outputs=outputs.get(name, 0),
        )
        for name, n in sorted(choice.split_sizes.items(), key=lambda kv: split_order(kv[0]))
    ]


def job_options(req: JobCreate, model: ModelInfo) -> dict[str, Any]:
    """The options as given, plus, for dataset augmentation without a chosen aspect
    ratio, keeping every output in its source's frame (ratios the model can be asked)."""
    options: dict[str, Any] = req.options.model_dump(mode="json")
    if isinstance(req, AutomaticJobCreate) and not req.options.aspect_ratio:
        options["fit_to_source"] = True
        if model.provider == "gemini" and model.supports_image_config and model.aspect_ratios:
            options["aspect_ratio_choices"] = list(model.aspect_ratios)
    return options


def job_spec(req: JobCreate, choice: DatasetChoice | None) -> dict[str, Any]:
    spec: dict[str, Any] = req.model_dump(mode="json")
    if choice is not None:
        spec.update(
            label_format=choice.label_format,
            labelled=choice.geometric,
            classes=choice.classes,
            splits=choice.splits,
            skipped_images=choice.skipped,
        )
    return spec


def include_originals_for(req: JobCreate, choice: DatasetChoice | None) -> bool:
    if not isinstance(req, AutomaticJobCreate):
        return False
    if req.include_originals is not None:
        return req.include_originals
    return choice is not None and (choice.geometric or choice.splits is not None)
