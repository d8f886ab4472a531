"""Clips from a `datasets` dataset: a saved folder, a local data folder, or a Hub dataset when online.

Path columns (strings) become absolute paths like a manifest's; `Video` / `Audio` feature columns are read
lazily per clip, undecoded (`decode=False`: their path or bytes), so that decoding stays with the processor in
the DataLoader workers and no media is loaded into memory up front.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .manifest import ClipRecord, ManifestColumns, ManifestError, parse_target, resolve_media_path

__all__ = ["DatasetMedia", "load_dataset_splits", "records_from_dataset"]


@dataclass(frozen=True)
class DatasetMedia:
    """One undecoded media cell of a `datasets` table, fetched when the clip is decoded."""

    dataset: Any
    column: str
    index: int

    def load(self) -> str | bytes:
        cell = self.dataset[self.index][self.column]
        if isinstance(cell, str):
            return cell
        if isinstance(cell, Mapping):
            if cell.get("bytes") is not None:
                return cell["bytes"]
            if cell.get("path"):
                return cell["path"]
        raise ManifestError(f"row {self.index}, column {self.column!r}: no media path or bytes in {cell!r}")

    def __str__(self) -> str:
        return f"row {self.index}, column {self.column!r}"


def load_dataset_splits(name: str, config_name: str | None = None, cache_dir: str | None = None):
    """A `DatasetDict`: `load_from_disk` for a `save_to_disk` folder, else `datasets.load_dataset`.

    A Hub name needs the Hub; when it cannot be reached the error says so instead of a long traceback.
    """
    import datasets

    path = Path(os.path.expanduser(name))
    if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
        loaded = datasets.load_from_disk(str(path))
        return loaded if isinstance(loaded, datasets.DatasetDict) else datasets.DatasetDict({"train": loaded})
    try:
        return datasets.load_dataset(str(path) if path.is_dir() else name, config_name, cache_dir=cache_dir)
    except (ConnectionError, OSError) as error:
        raise ManifestError(
            f"--dataset_name {name!r}: not a local dataset folder, and loading it from the Hugging Face Hub failed "
            f"({type(error).__name__}: {error}). Check the name and your network, or pass a local folder."
        ) from error


def _feature_kind(feature) -> str:
    kind = type(feature).__name__
    if kind in ("Video", "Audio"):
        return "media"
    if kind == "ClassLabel":
        return "class_label"
    if kind in ("Sequence", "List", "LargeList"):
        inner = getattr(feature, "feature", None)
        return "class_label_list" if type(inner).__name__ == "ClassLabel" else "list"
    return "value"


def records_from_dataset(
    dataset,
    columns: ManifestColumns,
    task: str,
    *,
    split: str,
    base_dir: str | os.PathLike | None = None,
    label_separator: str = ",",
) -> list[ClipRecord]:
    """One `ClipRecord` per row of a `datasets.Dataset` (one split), targets parsed and checked like a manifest's.

    Class-label features are turned back into their names. Relative string paths are resolved against
    `base_dir` (the local dataset folder) when given.
    """
    required = columns.required(task)
    missing = [c for c in required if c not in dataset.column_names]
    if missing:
        raise ManifestError(f"split {split!r}: missing column(s) {missing}; the dataset has {dataset.column_names}")
    base = Path(base_dir).resolve() if base_dir is not None else None
    media_columns = {}
    for kind, column in (("video", columns.video), ("audio", columns.audio)):
        if column is None:
            continue
        feature = dataset.features[column]
        if _feature_kind(feature) == "media":
            media_columns[kind] = ("lazy", dataset.cast_column(column, type(feature)(decode=False)))
        else:
            media_columns[kind] = ("path", dataset[column])
    target_columns = [c for c in required if c not in (columns.video, columns.audio, columns.split)]
    table = dataset.select_columns(target_columns).to_list() if target_columns else [{}] * len(dataset)
    names = {}
    if columns.label is not None and columns.label in dataset.features:
        feature = dataset.features[columns.label]
        kind = _feature_kind(feature)
        if kind == "class_label":
            names = {"single": feature}
        elif kind == "class_label_list":
            names = {"list": feature.feature}
    records = []
    for index, row in enumerate(table):
        where = f"split {split!r} row {index}"
        if "single" in names and row.get(columns.label) is not None:
            row = {**row, columns.label: names["single"].int2str(row[columns.label])}
        elif "list" in names and row.get(columns.label) is not None:
            row = {**row, columns.label: [names["list"].int2str(v) for v in row[columns.label]]}
        media = {"video": None, "audio": None}
        for kind, (mode, source) in media_columns.items():
            column = columns.video if kind == "video" else columns.audio
            if mode == "lazy":
                media[kind] = DatasetMedia(source, column, index)
                continue
            value = source[index]
            if not isinstance(value, str) or not value.strip():
                raise ManifestError(f"{where}: column {column!r} must be a media path, got {value!r}")
            media[kind] = resolve_media_path(value.strip(), base) if base is not None else value.strip()
        target = parse_target(row.get(columns.label), task, columns, row, where, label_separator)
        records.append(ClipRecord(media["video"], media["audio"], target, where))
    return records
