"""Uploaded images (assets, content-addressed) and the datasets that place them at
relative paths, with their label files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bananabatch.db.models.base import Base, new_id, utcnow


class Asset(Base):
    """An uploaded image, content-addressed by sha256 so re-uploads store nothing new."""

    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    mime_type: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(512))
    thumb_key: Mapped[str | None] = mapped_column(String(512), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # What `datasets.analyse` found (format, classes, splits, problems); read again
    # lazily after an upload changed the dataset (`labels_stale`).
    label_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    labels_stale: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Files an upload refused ({rel_path, code, message}), until an upload accepts the
    # path; job exports list them so a dataset's gaps are explained.
    refused_files: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)

    items: Mapped[list[DatasetItem]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="DatasetItem.rel_path"
    )


class DatasetItem(Base):
    """One asset at a relative path inside a dataset (`cat/001.jpg`)."""

    __tablename__ = "dataset_items"
    __table_args__ = (UniqueConstraint("dataset_id", "rel_path", name="uq_dataset_item_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    rel_path: Mapped[str] = mapped_column(String(1024))
    folder: Mapped[str] = mapped_column(String(255), default="")  # top-level folder ("" = flat)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    split: Mapped[str | None] = mapped_column(String(64), default=None)
    # Objects in pixels (`datasets.model.LabelObject` JSON); None: no label file.
    labels: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    label_problem: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    dataset: Mapped[Dataset] = relationship(back_populates="items")
    asset: Mapped[Asset] = relationship()


class DatasetFile(Base):
    """A non-image file of a dataset upload (label files, data.yaml, COCO JSON), kept
    byte for byte so an export can write it back untouched."""

    __tablename__ = "dataset_files"
    __table_args__ = (UniqueConstraint("dataset_id", "rel_path", name="uq_dataset_file_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    rel_path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
