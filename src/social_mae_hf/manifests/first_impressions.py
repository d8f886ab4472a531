"""ChaLearn First Impressions V2: `*.mp4` clips under the train / validation / test folders and the annotation
pickles `annotation_{training,validation,test}.pkl` (`{trait: {clip name: score}}`, written by Python 2).
The official splits are kept; the five traits are regression targets in [0, 1]."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from .safe_pickle import load_plain_pickle
from .scan import describe_folder, list_files, unreadable_reason
from .table import DatasetLayoutError, ManifestTable

__all__ = ["ANNOTATION_FILES", "INTERVIEW", "TRAITS", "read_first_impressions"]

# The paper's order of the big five.
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
INTERVIEW = "interview"
ANNOTATION_FILES = {
    "train": "annotation_training.pkl",
    "validation": "annotation_validation.pkl",
    "test": "annotation_test.pkl",
}


def read_first_impressions(source: str | Path, *, interview: bool = False) -> ManifestTable:
    """Manifests of the official splits, one row per annotated clip found under `source`.

    A clip is found by its file name anywhere under `source` (the zips unpack into folders of various names); a
    name found twice, a clip no annotation names, and an annotated clip that is missing are all reported.
    `interview` adds the `interview` score column.
    """
    source = Path(source)
    if not source.is_dir():
        raise DatasetLayoutError(f"First Impressions: expected a folder; {describe_folder(source)}")
    annotations = {split: _find_annotation(source, name) for split, name in ANNOTATION_FILES.items()}
    missing = [ANNOTATION_FILES[split] for split, path in annotations.items() if path is None]
    if len(missing) == len(ANNOTATION_FILES):
        raise DatasetLayoutError(
            f"no annotation_training.pkl / annotation_validation.pkl / annotation_test.pkl under {source}: is this "
            f"ChaLearn First Impressions V2? {describe_folder(source)}"
        )
    if missing:
        raise DatasetLayoutError(f"First Impressions {source}: {', '.join(missing)} not found (all three are needed)")
    wanted = TRAITS + ((INTERVIEW,) if interview else ())
    left_out: list[tuple[str, str]] = []
    clips: dict[str, Path] = {}
    for path in list_files(source):
        if path.suffix.lower() == ".pkl" and path in annotations.values():
            continue
        if path.suffix.lower() != ".mp4":
            left_out.append((str(path), "not an .mp4 clip"))
        elif path.name in clips:
            left_out.append((str(path), f"a second clip named {path.name} (the first: {clips[path.name]})"))
        elif reason := unreadable_reason(path):
            left_out.append((str(path), reason))
        else:
            clips[path.name] = path
    scores = {split: _scores(path, wanted) for split, path in annotations.items()}
    split_of: dict[str, str] = {}
    for split, by_clip in scores.items():
        for name in by_clip:
            if name in split_of:
                raise DatasetLayoutError(
                    f"{annotations[split]}: clip {name} is also annotated in {annotations[split_of[name]].name}"
                )
            split_of[name] = split
    for name in sorted(set(clips) - set(split_of)):
        left_out.append((str(clips[name]), "no annotation file names this clip"))
    splits: dict[str, list[dict[str, str]]] = {}
    absent: dict[str, int] = {}
    for split, by_clip in scores.items():
        for name in sorted(by_clip):
            if name not in clips:
                absent[split] = absent.get(split, 0) + 1
                left_out.append((name, f"annotated in {annotations[split].name} but no such clip under {source}"))
                continue
            row = {"video": str(clips[name]), "youtube_id": name.split(".")[0]}
            row |= {trait: repr(by_clip[name][trait]) for trait in wanted}
            splits.setdefault(split, []).append(row)
    if not any(splits.values()):
        raise DatasetLayoutError(
            f"First Impressions {source}: none of the {len(split_of)} annotated clips was found (expected their .mp4 "
            "files, e.g. in train/, validation/, test/)"
        )
    notes = ["official splits (the annotation file naming each clip)"]
    if absent:
        notes.append(f"annotated clips missing: {absent}")
    return ManifestTable(
        ["video", "youtube_id", *wanted],
        splits,
        "regression",
        target_columns=TRAITS,
        left_out=left_out,
        notes=notes,
    )


def _find_annotation(source: Path, name: str) -> Path | None:
    """The one file called `name` under `source` (at the top, else anywhere below); several is an error."""
    if (source / name).is_file():
        return source / name
    found = sorted(source.rglob(name))
    if len(found) > 1:
        raise DatasetLayoutError(f"{len(found)} files named {name} under {source}: {[str(p) for p in found]}")
    return found[0] if found else None


def _scores(path: Path, wanted: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Clip name -> trait -> score, from one annotation pickle, checked."""
    data = load_plain_pickle(path, encoding="latin1")
    if not isinstance(data, Mapping):
        raise DatasetLayoutError(f"{path}: expected {{trait: {{clip: score}}}}, got a {type(data).__name__}")
    absent = [t for t in wanted if t not in data]
    if absent:
        raise DatasetLayoutError(f"{path}: no trait(s) {absent}; it has {sorted(map(str, data))}")
    by_clip: dict[str, dict[str, float]] = {}
    for trait in wanted:
        table = data[trait]
        if not isinstance(table, Mapping):
            raise DatasetLayoutError(f"{path}: trait {trait!r} holds a {type(table).__name__}, not {{clip: score}}")
        for clip, score in table.items():
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise DatasetLayoutError(f"{path}: {trait} of {clip!r} is {score!r}, not a finite number")
            by_clip.setdefault(str(clip), {})[trait] = float(score)
    for clip, traits in by_clip.items():
        if len(traits) != len(wanted):
            lacking = [t for t in wanted if t not in traits]
            raise DatasetLayoutError(f"{path}: clip {clip!r} has no score for {lacking}")
    return by_clip
