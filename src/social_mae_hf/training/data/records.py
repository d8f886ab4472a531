"""Clips from a `datasets` dataset: a saved folder, a local data folder, or a Hub dataset when online.

Path columns (strings) become absolute paths like a manifest's; `Video` / `Audio` feature columns are read
lazily per clip, undecoded (`decode=False`: their path or bytes), so that decoding stays with the processor in
the DataLoader workers and no media is loaded into memory up front. With `--streaming` a split is read as a
stream instead ([`StreamedSplit`]): nothing is listed up front, rows become records as training reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .manifest import ClipRecord, ManifestColumns, ManifestError, parse_target, resolve_media_path

__all__ = [
    "DatasetMedia",
    "StreamedSplit",
    "cell_media",
    "load_dataset_splits",
    "records_from_dataset",
    "stream_dataset_splits",
]


@dataclass(frozen=True)
class DatasetMedia:
    """One undecoded media cell of a `datasets` table, fetched when the clip is decoded."""

    dataset: Any
    column: str
    index: int

    def load(self) -> str | bytes:
        return cell_media(self.dataset[self.index][self.column], f"row {self.index}, column {self.column!r}")

    def __str__(self) -> str:
        return f"row {self.index}, column {self.column!r}"


def cell_media(cell, where: str) -> str | bytes:
    """The path or bytes of an undecoded `Video` / `Audio` cell (`{"path", "bytes"}`) or a path string."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, Mapping):
        if cell.get("bytes") is not None:
            return cell["bytes"]
        if cell.get("path"):
            return cell["path"]
    raise ManifestError(f"{where}: no media path or bytes in {cell!r}")


def _saved_dataset(path: Path) -> bool:
    """Whether `path` is a folder written by `save_to_disk` (a `DatasetDict` or one `Dataset`)."""
    return path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file())


def _load_dataset(name: str, config_name: str | None, **kwargs):
    """`datasets.load_dataset` of a local data folder or a Hub name; a Hub that cannot be reached is one error
    naming the dataset instead of a long traceback."""
    import datasets

    path = Path(os.path.expanduser(name))
    try:
        return datasets.load_dataset(str(path) if path.is_dir() else name, config_name, **kwargs)
    except (ConnectionError, OSError) as error:
        what = "streaming" if kwargs.get("streaming") else "loading"
        raise ManifestError(
            f"--dataset_name {name!r}: not a local dataset folder, and {what} it from the Hugging Face Hub failed "
            f"({type(error).__name__}: {error}). Check the name and your network, or pass a local folder."
        ) from error


def load_dataset_splits(
    name: str, config_name: str | None = None, cache_dir: str | None = None, token: str | None = None
):
    """A `DatasetDict`: `load_from_disk` for a `save_to_disk` folder, else `datasets.load_dataset` (`cache_dir`
    and `token` are for a Hub dataset, a private one needs the token)."""
    import datasets

    path = Path(os.path.expanduser(name))
    if _saved_dataset(path):
        loaded = datasets.load_from_disk(str(path))
        return loaded if isinstance(loaded, datasets.DatasetDict) else datasets.DatasetDict({"train": loaded})
    return _load_dataset(name, config_name, cache_dir=cache_dir, token=token)


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
    names = _class_label_features(dataset.features, columns)
    records = []
    for index, row in enumerate(table):
        where = f"split {split!r} row {index}"
        row = _with_class_names(row, columns, names)
        media = {"video": None, "audio": None}
        for kind, (mode, source) in media_columns.items():
            column = columns.video if kind == "video" else columns.audio
            if mode == "lazy":
                media[kind] = DatasetMedia(source, column, index)
                continue
            media[kind] = _media_path(source[index], where, column, base)
        target = parse_target(row.get(columns.label), task, columns, row, where, label_separator)
        records.append(ClipRecord(media["video"], media["audio"], target, where))
    return records


def _class_label_features(features, columns: ManifestColumns) -> dict:
    """`{"single": ClassLabel}` or `{"list": ClassLabel}` when the label column holds class indices."""
    if features is None or columns.label is None or columns.label not in features:
        return {}
    feature = features[columns.label]
    kind = _feature_kind(feature)
    if kind == "class_label":
        return {"single": feature}
    if kind == "class_label_list":
        return {"list": feature.feature}
    return {}


def _with_class_names(row: Mapping, columns: ManifestColumns, names: dict) -> Mapping:
    """The row with its class indices turned back into class names."""
    if "single" in names and row.get(columns.label) is not None:
        return {**row, columns.label: names["single"].int2str(row[columns.label])}
    if "list" in names and row.get(columns.label) is not None:
        return {**row, columns.label: [names["list"].int2str(v) for v in row[columns.label]]}
    return row


def _media_path(value, where: str, column: str, base: Path | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: column {column!r} must be a media path, got {value!r}")
    return resolve_media_path(value.strip(), base) if base is not None else value.strip()


# A `save_to_disk` dataset read as a stream is cut into this many shards (at most), so that processes and
# DataLoader workers can each read their own (`datasets` splits streams by shard).
_STREAM_SHARDS = 64


@dataclass
class StreamedSplit:
    """A split of a `datasets` dataset read as a stream (`datasets.IterableDataset`, media undecoded): its rows
    become [`ClipRecord`]s as they come, checked as a manifest's rows are."""

    dataset: Any
    columns: ManifestColumns
    task: str
    split: str
    base_dir: Path | None = None
    label_separator: str = ","

    def __post_init__(self):
        features = self.dataset.features
        if features is not None:
            required = self.columns.required(self.task)
            missing = [c for c in required if c not in features]
            if missing:
                raise ManifestError(
                    f"split {self.split!r}: missing column(s) {missing}; the dataset has {list(features)}"
                )
            for column in (self.columns.video, self.columns.audio):
                if column is not None and _feature_kind(features[column]) == "media":
                    self.dataset = self.dataset.cast_column(column, type(features[column])(decode=False))
        self._names = _class_label_features(features, self.columns)

    @property
    def class_names(self) -> set[str] | None:
        """The classes a `ClassLabel` label column declares; `None` when the column holds plain names."""
        label = self._names.get("single") or self._names.get("list")
        return set(label.names) if label is not None else None

    def record(self, row: Mapping, number: int) -> ClipRecord:
        """The record of the `number`-th row this reader saw (rows are named by their media in messages)."""
        where = f"split {self.split!r} streamed row {number}"
        missing = [c for c in self.columns.required(self.task) if c not in row]
        if missing:
            raise ManifestError(f"{where}: missing column(s) {missing}")
        row = _with_class_names(row, self.columns, self._names)
        media = {"video": None, "audio": None}
        for kind, column in (("video", self.columns.video), ("audio", self.columns.audio)):
            if column is None:
                continue
            value = row[column]
            media[kind] = (
                cell_media(value, f"{where}, column {column!r}")
                if isinstance(value, Mapping)
                else _media_path(value, where, column, self.base_dir)
            )
        target = parse_target(row.get(self.columns.label), self.task, self.columns, row, where, self.label_separator)
        return ClipRecord(media["video"], media["audio"], target, where)


def stream_dataset_splits(
    name: str,
    config_name: str | None,
    columns: ManifestColumns,
    task: str,
    split_names: Mapping[str, str],
    *,
    label_separator: str = ",",
    cache_dir: str | None = None,
    token: str | None = None,
) -> dict[str, StreamedSplit]:
    """Our split -> its [`StreamedSplit`], for the `split_names` (ours -> the dataset's) the dataset has.

    A `save_to_disk` folder is read through `Dataset.to_iterable_dataset`; anything else through
    `datasets.load_dataset(..., streaming=True)`, which reads a Hub dataset or local data files as it goes.
    """
    path = Path(os.path.expanduser(name))
    if _saved_dataset(path):
        loaded = load_dataset_splits(name, config_name)
        streams = {
            split: table.to_iterable_dataset(num_shards=max(1, min(_STREAM_SHARDS, len(table))))
            for split, table in loaded.items()
        }
    else:
        streams = _load_dataset(name, config_name, cache_dir=cache_dir, token=token, streaming=True)
    base = path.resolve() if path.is_dir() else None
    return {
        ours: StreamedSplit(streams[theirs], columns, task, theirs, base, label_separator)
        for ours, theirs in split_names.items()
        if theirs in streams
    }
