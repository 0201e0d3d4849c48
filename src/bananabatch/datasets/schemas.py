"""What the API shows about a dataset's labels before a job starts (the cached
analysis summary as a typed model; the web UI's types are generated from it)."""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, Field

from bananabatch.datasets.model import split_role

Role = Literal["train", "val", "test"]


class LabelClassOut(BaseModel):
    id: int = Field(description="0-based class id used in exports (YOLO ids, VOC order).")
    name: str
    source_id: int | str = Field(description="The id the dataset used (e.g. COCO category id).")
    count: int = Field(description="Labelled objects (images for class folders).")


class LabelSplitOut(BaseModel):
    name: str = Field(description='The split\'s folder name; "" for images outside any split.')
    role: Role | None
    images: int
    labelled: int = Field(description="Images with a label file (or a class folder).")
    objects: int


class LabelProblemOut(BaseModel):
    path: str
    code: str = Field(description="bad_label, bad_annotation, bad_yaml, orphan_label, ...")
    message: str


class DatasetLabelsOut(BaseModel):
    format: Literal["images", "folders", "yolo", "coco", "voc"]
    task: Literal["detect", "segment", "classify"] | None
    classes: list[LabelClassOut]
    splits: list[LabelSplitOut]
    default_splits: list[str] = Field(description="Splits a job augments unless told otherwise.")
    unlabelled_count: int = Field(description="Images without a label file (YOLO/COCO/VOC).")
    unlabelled: list[str] = Field(description="The first of them.")
    problem_count: int
    problem_images: int = Field(
        description="Images whose labels could not be read completely: exported as they came, "
        "never augmented."
    )
    problems: list[LabelProblemOut] = Field(description="The first problems, one per file.")

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> DatasetLabelsOut:
        return cls(
            format=summary["format"],
            task=summary.get("task"),
            classes=[LabelClassOut(**c) for c in summary.get("classes", [])],
            splits=[
                LabelSplitOut(
                    name=s["name"],
                    role=cast(Role | None, split_role(s["name"])),
                    images=s["images"],
                    labelled=s["labelled"],
                    objects=s["objects"],
                )
                for s in summary.get("splits", [])
            ],
            default_splits=list(summary.get("default_splits", [])),
            unlabelled_count=summary.get("unlabelled_count", 0),
            unlabelled=list(summary.get("unlabelled", [])),
            problem_count=summary.get("problem_count", 0),
            problem_images=summary.get("problem_images", 0),
            problems=[LabelProblemOut(**p) for p in summary.get("problems", [])],
        )
