"""Exporting a job on a labelled dataset as the dataset it came in, augmented.

The archive is the whole dataset as uploaded (every split, images and label
files byte for byte, unless originals are left out), plus each exported output
next to its source with a label file in the source's format: YOLO `.txt` under
`labels/` (and the data.yaml), Pascal VOC XML beside the image or in
`Annotations/` (and `ImageSets/Main/<split>.txt` lists), or new image and
annotation records in the split's COCO JSON with the dataset's category ids.
Class folders need no label file: an output sits in its source's class folder.

Outputs left out (rejected in review, flagged label-unsafe, no labels carried)
keep their manifest row with the reason.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bananabatch.datasets.coco import images_by_path
from bananabatch.datasets.model import LabelFormat, LabelObject, objects_from_json
from bananabatch.datasets.paths import ImageIndex, stem, voc_label_candidates, yolo_label_path
from bananabatch.datasets.service import dataset_files
from bananabatch.db.models import (
    Asset,
    Batch,
    Dataset,
    DatasetFile,
    DatasetItem,
    Job,
    Output,
    OutputStatus,
    ReviewState,
)
from bananabatch.errors import NotFound
from bananabatch.export.entries import (
    ExportEntry,
    ExportSelection,
    NameBook,
    excluded_reason,
    job_flags,
    safe_arcname,
    stored_ext,
    with_ext,
)
from bananabatch.export.formats import writers
from bananabatch.export.manifest import has_image, manifest_row

log = logging.getLogger(__name__)

GROUP = "dataset"  # one group: a labelled dataset is never cut into parts
Reader = Callable[[str], bytes]


@dataclass(frozen=True)
class _Item:
    rel_path: str
    storage_key: str
    size: int
    mime_type: str
    width: int
    height: int
    split: str | None
    labels: tuple[LabelObject, ...] | None
    label_problem: bool


def is_labelled_job(job: Job) -> bool:
    """A dataset job whose export is the dataset itself: labels or splits came in."""
    spec = job.spec or {}
    return bool(job.dataset_id) and (
        spec.get("label_format") in ("yolo", "coco", "voc") or bool(spec.get("splits"))
    )


class _Planner:
    def __init__(
        self,
        session: Session,
        job: Job,
        selection: ExportSelection,
        summary: dict[str, Any],
        read: Reader,
    ) -> None:
        self.session = session
        self.read = read
        self.job = job
        self.selection = selection
        self.summary = summary
        self.format = LabelFormat(summary.get("format", "images"))
        self.classes: list[dict[str, Any]] = list(summary.get("classes", []))
        self.names = NameBook()
        self.entries: list[ExportEntry] = []
        self.originals = (
            job.include_originals
            if selection.include_originals is None
            else selection.include_originals
        )
        assert job.dataset_id is not None
        self.files: dict[str, DatasetFile] = dataset_files(session, job.dataset_id)
        self.items = self._items(job.dataset_id)
        self.coco_additions: dict[str, list[tuple[dict[str, Any], tuple[LabelObject, ...]]]] = {}
        self.image_sets: dict[str, list[str]] = {}
        self._docs: dict[str, dict[str, Any] | None] = {}
        self._records: dict[str, dict[str, dict[str, Any]]] = {}

    def _items(self, dataset_id: str) -> dict[str, _Item]:
        rows = self.session.execute(
            select(DatasetItem, Asset)
            .join(Asset, Asset.id == DatasetItem.asset_id)
            .where(DatasetItem.dataset_id == dataset_id)
            .order_by(DatasetItem.rel_path)
        ).all()
        return {
            item.rel_path: _Item(
                rel_path=item.rel_path,
                storage_key=asset.storage_key,
                size=asset.size_bytes,
                mime_type=asset.mime_type,
                width=asset.width,
                height=asset.height,
                split=item.split,
                labels=objects_from_json(item.labels) if item.labels is not None else None,
                label_problem=item.label_problem,
            )
            for item, asset in rows
        }

    # ---- entries ------------------------------------------------------------------------

    def _stored(
        self, arcname: str, key: str, size: int, kind: Literal["original", "file"] = "file"
    ) -> None:
        self.entries.append(ExportEntry(kind, GROUP, self.names.claim(arcname), key, size, None))

    def _data(self, arcname: str, data: bytes) -> str:
        name = self.names.claim(arcname)
        self.entries.append(ExportEntry("file", GROUP, name, None, len(data), None, data))
        return name

    def _rewritten(self) -> set[str]:
        """Dataset files written anew at the end instead of copied."""
        out: set[str] = set()
        if self.format is LabelFormat.coco:
            out |= set((self.summary.get("layout") or {}).get("files", {}))
        if self.format is LabelFormat.voc:
            out |= {f for f in self.files if "/ImageSets/Main/" in f"/{f}"}
        yaml_path = (self.summary.get("layout") or {}).get("data_yaml")
        if self.format is LabelFormat.yolo and yaml_path:
            out.add(yaml_path)
        return out

    def originals_and_files(self) -> None:
        if not self.originals:
            return
        rewritten = self._rewritten()
        for rel_path, f in sorted(self.files.items()):
            if rel_path not in rewritten:
                self._stored(safe_arcname(rel_path), f.storage_key, f.size_bytes)
        for item in self.items.values():
            arc = with_ext(
                safe_arcname(item.rel_path), stored_ext(item.storage_key, item.mime_type)
            )
            self._stored(arc, item.storage_key, item.size, kind="original")

    def outputs(self) -> None:
        query = select(Output).where(Output.job_id == self.job.id).order_by(Output.position)
        sel = self.selection
        if sel.batch_id is not None:
            query = query.where(Output.batch_id == sel.batch_id)
        if sel.succeeded_only:
            query = query.where(Output.status == OutputStatus.succeeded)
        if sel.accepted_only:
            query = query.where(Output.review == ReviewState.accepted)
        if sel.output_ids is not None:
            query = query.where(Output.id.in_(sel.output_ids))
        batches = {
            b.id: b for b in self.session.scalars(select(Batch).where(Batch.job_id == self.job.id))
        }
        flags = job_flags(self.session, self.job.id)
        geometric = self.format in (LabelFormat.yolo, LabelFormat.coco, LabelFormat.voc)
        for output in self.session.scalars(query):
            found = flags.get(output.id, ())
            source = self.items.get(output.source_path or "")
            row = manifest_row(
                self.job, batches[output.batch_id], output, archive_path="", flags=found
            )
            row = replace(row, split=source.split if source else None)
            excluded = excluded_reason(output, sel, found, labelled=geometric)
            carried = output.labels is not None
            labelled_source = geometric and source is not None and source.labels is not None
            if excluded is None and labelled_source and not carried:
                excluded = "no labels were carried through its generation"
            if not has_image(output) or excluded:
                row = replace(row, excluded=excluded if has_image(output) else None)
                self.entries.append(ExportEntry("output", GROUP, "", None, None, row))
                continue
            assert output.storage_key is not None
            arc = self.names.claim(
                with_ext(
                    safe_arcname(output.archive_path),
                    stored_ext(output.storage_key, output.mime_type),
                )
            )
            labels_path = self._labels_for(output, arc, source) if source else None
            row = replace(row, archive_path=arc, labels_path=labels_path)
            self.entries.append(ExportEntry("output", GROUP, arc, output.storage_key, None, row))

    def _labels_for(self, output: Output, arc: str, source: _Item) -> str | None:
        objects = objects_from_json(output.labels) if output.labels is not None else None
        if objects is None or source.labels is None:
            return None
        size = (output.width or source.width, output.height or source.height)
        if self.format is LabelFormat.yolo:
            return self._data(yolo_label_path(arc), writers.yolo_text(objects, size))
        if self.format is LabelFormat.voc:
            beside = source.rel_path and self._voc_beside(source)
            candidates = voc_label_candidates(arc)
            path = candidates[0] if beside or len(candidates) == 1 else candidates[1]
            names = [c["name"] for c in self.classes]
            if source.split and self.image_sets_for(source.split):
                self.image_sets.setdefault(source.split, []).append(stem(arc))
            return self._data(path, writers.voc_xml(objects, names, posixpath.basename(arc), size))
        if self.format is LabelFormat.coco:
            return self._coco_addition(output, arc, source, objects, size)
        return None

    def _voc_beside(self, source: _Item) -> bool:
        return voc_label_candidates(source.rel_path)[0] in self.files

    def image_sets_for(self, split: str) -> str | None:
        path = f"ImageSets/Main/{split}.txt"
        return path if path in self.files else None

    # ---- COCO ---------------------------------------------------------------------------

    def _coco_json_of(self, source: _Item) -> str | None:
        files = (self.summary.get("layout") or {}).get("files", {})
        for path, info in files.items():
            if info.get("split") == source.split:
                return str(path)
        return next(iter(files), None)

    def _coco_addition(
        self,
        output: Output,
        arc: str,
        source: _Item,
        objects: tuple[LabelObject, ...],
        size: tuple[int, int],
    ) -> str | None:
        json_path = self._coco_json_of(source)
        if json_path is None:
            return None
        record = {"file_name": posixpath.basename(arc), "width": size[0], "height": size[1]}
        original = self._source_record(json_path, source.rel_path)
        if original is not None:
            prefix = posixpath.dirname(str(original.get("file_name", "")))
            record["file_name"] = posixpath.join(prefix, posixpath.basename(arc))
        self.coco_additions.setdefault(json_path, []).append((record, objects))
        return safe_arcname(json_path)

    def _coco_doc(self, json_path: str) -> dict[str, Any] | None:
        if json_path not in self._docs:
            f = self.files.get(json_path)
            doc = json.loads(self.read(f.storage_key)) if f is not None else None
            self._docs[json_path] = doc if isinstance(doc, dict) else None
        return self._docs[json_path]

    def _source_record(self, json_path: str, rel_path: str) -> dict[str, Any] | None:
        if json_path not in self._records:
            doc = self._coco_doc(json_path)
            index = ImageIndex(self.items)
            self._records[json_path] = images_by_path(doc, json_path, index) if doc else {}
        return self._records[json_path].get(rel_path)

    # ---- dataset-level files ------------------------------------------------------------

    def finish(self) -> None:
        layout = self.summary.get("layout") or {}
        if self.format is LabelFormat.coco:
            self._coco_files(list(layout.get("files", {})))
        if self.format is LabelFormat.voc:
            for split, stems in sorted(self.image_sets.items()):
                path = f"ImageSets/Main/{split}.txt"
                before = self.read(self.files[path].storage_key).decode() if self.originals else ""
                lines = [line for line in before.splitlines() if line.strip()] + stems
                self._data(path, ("\n".join(lines) + "\n").encode())
            if self.originals:
                for path, f in sorted(self.files.items()):
                    split = posixpath.splitext(posixpath.basename(path))[0]
                    if "/ImageSets/Main/" in f"/{path}" and split not in self.image_sets:
                        self._stored(path, f.storage_key, f.size_bytes)
        if self.format is LabelFormat.yolo:
            self._yolo_yaml(layout)

    def _coco_files(self, paths: list[str]) -> None:
        """Each split's JSON: copied as it came when nothing was added to it, else its
        records plus the new ones (only the new ones when originals are left out)."""
        category_ids = [c["source_id"] for c in self.classes]
        for json_path in paths:
            additions = self.coco_additions.get(json_path, [])
            f = self.files.get(json_path)
            if not additions:
                if self.originals and f is not None:
                    self._stored(safe_arcname(json_path), f.storage_key, f.size_bytes)
                continue
            doc = self._coco_doc(json_path) or {}
            categories = list(doc.get("categories") or [])
            original = doc if self.originals else None
            data = writers.coco_with_images(original, additions, category_ids, categories)
            self._data(safe_arcname(json_path), data)

    def _yolo_yaml(self, layout: dict[str, Any]) -> None:
        path = layout.get("data_yaml")
        if path and layout.get("yaml_ok"):
            f = self.files[path]
            self._stored(safe_arcname(path), f.storage_key, f.size_bytes)
            return
        splits: dict[str, str] = {}
        for item in self.items.values():
            if item.split and item.split not in splits:
                folder = posixpath.dirname(item.rel_path)
                splits[item.split] = folder
        names = [c["name"] for c in self.classes]
        self._data(safe_arcname(path or "data.yaml"), writers.data_yaml(names, splits))


def labelled_entries(
    session: Session, job_id: str, selection: ExportSelection, read: Reader
) -> list[ExportEntry]:
    """Everything the export of a labelled dataset job holds (see the module doc);
    `read(storage_key)` reads the dataset files that are rewritten."""
    job = session.get(Job, job_id)
    if job is None or job.dataset_id is None:
        raise NotFound(f"job {job_id} not found")
    dataset = session.get(Dataset, job.dataset_id)
    summary = dict(dataset.label_summary or {}) if dataset else {}
    planner = _Planner(session, job, selection, summary, read)
    planner.originals_and_files()
    planner.outputs()
    planner.finish()
    log.info(
        "labelled export of job %s (%s): %d entries",
        job_id,
        planner.format.value,
        len(planner.entries),
    )
    return planner.entries
