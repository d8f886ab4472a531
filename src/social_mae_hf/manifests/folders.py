"""One folder per class (`happy/clip1.mp4`), as `datasets`' videofolder / audiofolder and torchvision's
`ImageFolder` read them; splits from `train/` / `validation/` / `test/` folders when present, else by ratio."""

from __future__ import annotations

import random
from pathlib import Path

from .scan import AUDIO_SUFFIXES, VIDEO_SUFFIXES, describe_folder, list_files, unreadable_reason
from .social_mae_layout import SPLIT_FOLDERS
from .splitting import parse_ratios, split_counts
from .table import SPLITS, DatasetLayoutError, ManifestTable

__all__ = ["read_folders"]


def read_folders(source: str | Path, *, ratios=None, seed: int = 0) -> ManifestTable:
    """Rows of every media file in a class folder. Without split folders, each class's clips are shuffled with
    `seed` and cut by `ratios`, so that every split has the classes in about the same shares.

    All clips must be videos (a `video` column) or all sound files (an `audio` column).
    """
    source = Path(source)
    if not source.is_dir():
        raise DatasetLayoutError(f"folders: expected a folder of class folders; {describe_folder(source)}")
    subfolders = sorted(p for p in source.iterdir() if p.is_dir())
    split_folders = [p for p in subfolders if p.name.lower() in SPLIT_FOLDERS]
    left_out: list[tuple[str, str]] = []
    if split_folders:
        others = [p.name for p in subfolders if p not in split_folders]
        if others:
            raise DatasetLayoutError(
                f"{source}: has split folder(s) {[p.name for p in split_folders]} and other folder(s) {others}; "
                "expected either split folders (train/, validation/, test/) holding class folders, or class folders"
            )
        parts = {}
        for folder in split_folders:
            split = SPLIT_FOLDERS[folder.name.lower()]
            if split in parts:
                raise DatasetLayoutError(f"{source}: two folders for split {split!r}: {parts[split][0]}, {folder}")
            parts[split] = (folder, _class_files(folder, left_out))
        found = {split: files for split, (_, files) in parts.items()}
        notes = [f"splits from the folders {sorted(p.name for p in split_folders)}"]
    else:
        ratios = parse_ratios(ratios)
        files = _class_files(source, left_out)
        found = {split: [] for split in SPLITS}
        for label in sorted({label for label, _ in files}):
            paths = [path for name, path in files if name == label]
            random.Random(f"{seed}/{label}").shuffle(paths)
            train, validation, _ = split_counts(len(paths), ratios, what=f"clips of class {label!r}")
            cuts = {"train": paths[:train], "validation": paths[train : train + validation]}
            cuts["test"] = paths[train + validation :]
            for split, chosen in cuts.items():
                found[split].extend((label, path) for path in sorted(chosen))
        notes = [f"no split folders: each class split by ratios {ratios}, seed {seed}"]
    kinds = {
        "video" if path.suffix.lower() in VIDEO_SUFFIXES else "audio" for rows in found.values() for _, path in rows
    }
    if not kinds:
        raise DatasetLayoutError(
            f"{source}: no media file in a class folder (expected e.g. {source}/happy/clip1.mp4); "
            f"{describe_folder(source)}"
        )
    if len(kinds) > 1:
        raise DatasetLayoutError(
            f"{source}: holds both videos and sound files; the manifest needs one kind (put the others elsewhere)"
        )
    column = kinds.pop()
    splits = {split: [{column: str(path), "label": label} for label, path in rows] for split, rows in found.items()}
    return ManifestTable(
        [column, "label"],
        splits,
        "classification",
        video_column="video" if column == "video" else None,
        audio_column="audio" if column == "audio" else None,
        label_column="label",
        left_out=left_out,
        notes=notes,
    )


def _class_files(folder: Path, left_out: list[tuple[str, str]]) -> list[tuple[str, Path]]:
    """`(class, path)` of the media files under `folder`'s class folders (any depth below the class folder)."""
    found = []
    for path in list_files(folder):
        relative = path.relative_to(folder)
        suffix = path.suffix.lower()
        if len(relative.parts) < 2:
            left_out.append((str(path), "not in a class folder"))
        elif suffix not in VIDEO_SUFFIXES and suffix not in AUDIO_SUFFIXES:
            left_out.append((str(path), "not a video or sound file"))
        elif reason := unreadable_reason(path):
            left_out.append((str(path), reason))
        else:
            found.append((relative.parts[0], path))
    return found
