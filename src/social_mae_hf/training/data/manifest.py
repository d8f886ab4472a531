"""Clip manifests: CSV, JSON Lines or JSON files with one clip per row (media path(s) and its target).

A row names a video (used for its frames and, unless an audio column is given, its sound) and/or a separate
audio file, plus the target: a class name, several class names (multi-label), or float columns (regression).
Relative paths are resolved against the manifest's folder, so a dataset folder can move as a whole.

Everything is checked while reading, so that a bad manifest fails before any training, with the file, the
row and the column named.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "TASKS",
    "ClipRecord",
    "ManifestColumns",
    "ManifestError",
    "check_media_exist",
    "optional_column",
    "parse_target",
    "read_manifest",
    "read_manifest_splits",
    "resolve_media_path",
]

TASKS = ("classification", "multi_label_classification", "regression", "pretraining")
MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")


class ManifestError(ValueError):
    """A manifest (or dataset) that cannot be used: the message names the file, the row and the column."""


def optional_column(name: str | None) -> str | None:
    """A column name given on the command line, where `"none"` (or nothing) means no such column."""
    return None if name is None or name.strip().lower() in ("", "none") else name.strip()


@dataclass(frozen=True)
class ManifestColumns:
    """Which columns hold what.

    Args:
        video: Media path of each clip (a video with its sound); `None` when clips are audio files only.
        audio: A separate audio path per clip; its sound replaces the video's. `None`: the video's own track.
        label: Class name (classification) or class names (multi-label: a JSON list, or names joined by the
            label separator).
        targets: Float target columns (regression).
        split: Column naming each row's split, when one manifest holds several splits.
    """

    video: str | None = "video"
    audio: str | None = None
    label: str | None = "label"
    targets: tuple[str, ...] = ()
    split: str | None = None

    def required(self, task: str) -> list[str]:
        """Columns a manifest for `task` must have."""
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if self.video is None and self.audio is None:
            raise ValueError("give a video column, an audio column, or both")
        names = [c for c in (self.video, self.audio, self.split) if c is not None]
        if task in ("classification", "multi_label_classification"):
            if self.label is None:
                raise ValueError(f"task {task!r} needs a label column")
            names.append(self.label)
        elif task == "regression":
            if not self.targets:
                raise ValueError("task 'regression' needs at least one target column")
            names.extend(self.targets)
        return names


@dataclass(frozen=True)
class ClipRecord:
    """One clip: its media, its raw target, and where it came from (for messages).

    `video` / `audio` are absolute paths, raw bytes, or a [`DatasetMedia`] read lazily from a `datasets` table.
    `target` is a class name (`str`), a tuple of class names (multi-label), a tuple of floats (regression) or
    `None` (pretraining).
    """

    video: Any
    audio: Any
    target: Any
    source: str


def resolve_media_path(value: str, base_dir: Path) -> str:
    """Absolute path of a manifest entry: `~` expanded, relative paths taken from the manifest's folder."""
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else (base_dir / path))


def parse_target(value: Any, task: str, columns: ManifestColumns, row: Mapping[str, Any], where: str, separator: str):
    """The raw target of one row for `task`, checked; `where` names the row in errors."""
    if task == "pretraining":
        return None
    if task == "regression":
        floats = []
        for name in columns.targets:
            number = _as_float(row.get(name), f"{where}, column {name!r}")
            floats.append(number)
        return tuple(floats)
    column = columns.label
    if _is_missing(value):
        raise ManifestError(f"{where}: column {column!r} is empty")
    if task == "classification":
        if isinstance(value, (list, tuple)):
            raise ManifestError(
                f"{where}, column {column!r}: a single-label task needs one class name, got a list {value!r} "
                "(use task 'multi_label_classification' for several labels per clip)"
            )
        return str(value).strip()
    # multi-label
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise ManifestError(f"{where}, column {column!r}: {text!r} is not a JSON list ({error})") from None
        else:
            value = text.split(separator)
    if not isinstance(value, (list, tuple)):
        raise ManifestError(f"{where}, column {column!r}: expected a list of class names, got {value!r}")
    names = tuple(str(v).strip() for v in value)
    if any(not n for n in names):
        raise ManifestError(f"{where}, column {column!r}: empty class name in {value!r}")
    if len(set(names)) != len(names):
        raise ManifestError(f"{where}, column {column!r}: a class is listed twice in {value!r}")
    return names


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_float(value: Any, where: str) -> float:
    if _is_missing(value):
        raise ManifestError(f"{where} is empty")
    if isinstance(value, bool):
        raise ManifestError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ManifestError(f"{where}: {value!r} is not a finite number")
    return number


# ---- reading ---------------------------------------------------------------------------------------------------


def _read_rows(path: Path) -> tuple[list[str] | None, list[tuple[str, dict]]]:
    """(header or None, [(row name, row dict)]) of a CSV/TSV/JSONL/JSON manifest."""
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise ManifestError(f"{path}: unsupported manifest type {suffix!r}; use one of {MANIFEST_SUFFIXES}")
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    if suffix in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            header = list(reader.fieldnames or [])
            rows = []
            for index, row in enumerate(reader):
                where = f"{path.name} row {index + 1} (line {reader.line_num})"
                if None in row:
                    raise ManifestError(f"{where}: more cells than the {len(header)} header columns")
                rows.append((where, row))
        if not header:
            raise ManifestError(f"{path}: empty manifest (no header row)")
        return header, rows
    text = path.read_text(encoding="utf-8")
    if suffix == ".json" and text.lstrip()[:1] in ("[", "{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ManifestError(f"{path}: not valid JSON ({error})") from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]  # CAV-MAE's {"data": [...]} datafiles
        if not isinstance(data, list):
            raise ManifestError(f"{path}: a JSON manifest must be a list of objects or {{'data': [...]}}")
        entries = [(f"{path.name} item {i}", item) for i, item in enumerate(data)]
    else:
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append((f"{path.name} line {number}", json.loads(line)))
            except json.JSONDecodeError as error:
                raise ManifestError(f"{path.name} line {number}: not valid JSON ({error})") from None
    for where, item in entries:
        if not isinstance(item, dict):
            raise ManifestError(f"{where}: expected a JSON object, got {type(item).__name__}")
    return None, entries


def read_manifest(
    path: str | os.PathLike,
    columns: ManifestColumns,
    task: str,
    *,
    label_separator: str = ",",
) -> list[tuple[str | None, ClipRecord]]:
    """Read and check every row: `[(split or None, ClipRecord)]`, paths made absolute.

    Raises `ManifestError` naming the file, row and column for a missing column, an empty cell, a target that
    does not parse, or an empty manifest.
    """
    path = Path(path)
    required = columns.required(task)
    header, rows = _read_rows(path)
    if not rows:
        raise ManifestError(f"{path}: the manifest has no rows")
    if header is not None:
        missing = [c for c in required if c not in header]
        if missing:
            raise ManifestError(f"{path}: missing column(s) {missing}; the header has {header}")
    base_dir = path.resolve().parent
    out = []
    for where, row in rows:
        missing = [c for c in required if c not in row]
        if missing:
            raise ManifestError(f"{where}: missing key(s) {missing}")
        media = {}
        for kind, column in (("video", columns.video), ("audio", columns.audio)):
            if column is None:
                media[kind] = None
                continue
            value = row[column]
            if _is_missing(value) or not isinstance(value, str):
                raise ManifestError(f"{where}: column {column!r} must be a media path, got {value!r}")
            media[kind] = resolve_media_path(value.strip(), base_dir)
        target = parse_target(row.get(columns.label), task, columns, row, where, label_separator)
        split = None
        if columns.split is not None:
            split = row[columns.split]
            if _is_missing(split):
                raise ManifestError(f"{where}: column {columns.split!r} (the split) is empty")
            split = str(split).strip()
        out.append((split, ClipRecord(media["video"], media["audio"], target, where)))
    return out


def read_manifest_splits(
    files: Mapping[str, str | os.PathLike] | None,
    columns: ManifestColumns,
    task: str,
    *,
    manifest: str | os.PathLike | None = None,
    split_names: Mapping[str, str] | None = None,
    label_separator: str = ",",
) -> dict[str, list[ClipRecord]]:
    """Records per split, from one file per split (`files`: split -> path) or one `manifest` with a split column.

    `split_names` maps our split names (`train`, `validation`, `test`) to the values of the split column; rows
    whose split is none of them are an error (named), so that a typo cannot silently drop data.
    """
    if manifest is not None:
        if columns.split is None:
            raise ValueError("a single manifest with several splits needs its split column (--split_column)")
        names = dict(split_names or {"train": "train", "validation": "validation", "test": "test"})
        by_value = {value: ours for ours, value in names.items()}
        splits: dict[str, list[ClipRecord]] = {}
        for split, record in read_manifest(manifest, columns, task, label_separator=label_separator):
            if split not in by_value:
                raise ManifestError(
                    f"{record.source}: split {split!r} is none of the expected split values {sorted(by_value)}"
                )
            splits.setdefault(by_value[split], []).append(record)
        return splits
    if not files:
        raise ValueError("give manifest files per split or one manifest with a split column")
    plain = ManifestColumns(columns.video, columns.audio, columns.label, columns.targets, None)
    return {
        split: [record for _, record in read_manifest(path, plain, task, label_separator=label_separator)]
        for split, path in files.items()
        if path is not None
    }


def check_media_exist(records: Sequence[ClipRecord]) -> list[tuple[ClipRecord, str]]:
    """`(record, path)` of every media path that is not an existing file (bytes and lazy media are not checked)."""
    missing = []
    for record in records:
        for value in (record.video, record.audio):
            if isinstance(value, str) and not os.path.isfile(value):
                missing.append((record, value))
    return missing
