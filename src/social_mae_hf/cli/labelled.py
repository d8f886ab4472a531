"""Manifests as inputs of `predict` and `evaluate`: the CSVs `social-mae manifest` writes (a `video` and/or `audio`
column, paths relative to the CSV, and a `label` column or one column per regression target), each row one clip,
its label or values the truth its predictions are shown next to and scored against."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

from .inputs import collect_media

__all__ = ["Clip", "clips_of", "is_manifest", "read_manifest", "truths"]

MEDIA_COLUMNS = ("video", "audio")


@dataclass(frozen=True)
class Clip:
    """One input: `name` is what outputs call it (the video's path, else the audio's), `source` what the pipeline
    takes (a path, or `{"video": path, "audio": path}` for a row with both), `row` its manifest row (None for a
    media file named on the command line) and `where` the manifest and row, for messages."""

    name: str
    source: str | dict
    row: dict[str, str] | None = None
    where: str | None = None


def is_manifest(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".csv"


def _media_path(value: str, folder: Path) -> str:
    """A manifest's media entry: `~` expanded, a relative path taken from the manifest's folder."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else folder / path)


def read_manifest(path: str | os.PathLike) -> list[Clip]:
    """The clips of a manifest CSV, in its order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such manifest file")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        media = [column for column in MEDIA_COLUMNS if column in header]
        if not media:
            raise ValueError(
                f"{path}: has no video or audio column (its columns: {', '.join(header) or 'none'}); a manifest "
                "names each clip's media there (see `social-mae manifest`)"
            )
        clips = []
        for number, row in enumerate(reader, start=2):  # line 1 is the header
            where = f"{path}, line {number}"
            if None in row:
                raise ValueError(f"{where}: more cells than the {len(header)} header columns")
            files = {column: _media_path(row[column], path.parent) for column in media if (row[column] or "").strip()}
            if not files:
                raise ValueError(f"{where}: no media file (its {' and '.join(media)} cell is empty)")
            source = files if len(files) == 2 else next(iter(files.values()))
            clips.append(Clip(files.get("video") or files["audio"], source, dict(row), where))
    if not clips:
        raise ValueError(f"{path}: the manifest has no rows")
    return clips


def clips_of(inputs: list[str], recursive: bool = False) -> list[Clip]:
    """The clips of the command line's inputs, in order: manifests' rows, and media files (folders: their media
    files, see `collect_media`)."""
    clips: list[Clip] = []
    media: list[str] = []

    def flush() -> None:
        if media:
            clips.extend(Clip(str(path), str(path)) for path in collect_media(media, recursive))
            media.clear()

    for name in inputs:
        if is_manifest(name):
            flush()
            clips.extend(read_manifest(name))
        else:
            media.append(name)
    flush()
    return clips


def _number(text: str | None, where: str, column: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{where}: column {column!r} is {text!r}, not a number")
    return value


def truths(
    clips: list[Clip], names: list[str], kind: str, label_column: str = "label"
) -> list[str | dict[str, float] | None]:
    """Each clip's true label (`kind` "classification"; "multi_label_classification": the cell as written) or
    `{target: value}` ("regression": the model's target `names` as columns); None for a clip without one (a media
    file, a manifest without the column). A label not among the model's `names`, or a value that is not a number,
    is an error naming the row."""
    regression = kind == "regression"
    found: list[str | dict[str, float] | None] = []
    for clip in clips:
        row = clip.row
        if row is None:
            found.append(None)
        elif regression:
            present = [name for name in names if name in row]
            if not present:
                found.append(None)
                continue
            if len(present) < len(names):
                missing = [name for name in names if name not in row]
                raise ValueError(f"{clip.where}: has target column(s) {present} but not {missing}, of the model's")
            found.append({name: _number(row[name], clip.where, name) for name in names})
        elif label_column in row and (row[label_column] or "").strip():
            label = row[label_column].strip()
            if kind == "classification" and label not in names:
                hint = (
                    " (the model's labels are placeholders: convert it with --id2label in its head's order)"
                    if all(name == f"LABEL_{i}" for i, name in enumerate(names))
                    else ""
                )
                raise ValueError(f"{clip.where}: label {label!r} is not one of the model's labels {names}{hint}")
            found.append(label)
        else:
            found.append(None)
    return found
