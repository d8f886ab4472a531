"""VoxCeleb2: `dev/mp4/idXXXXX/<video id>/NNNNN.mp4` (no sound) with the sound in the parallel
`dev/aac/idXXXXX/<video id>/NNNNN.m4a` tree, paired by relative path. Unlabelled: manifests for pretraining."""

from __future__ import annotations

import random
import re
from pathlib import Path

from .scan import describe_folder, list_files, pair_by_path, unreadable_reason
from .table import DatasetLayoutError, ManifestTable

__all__ = ["read_voxceleb2"]

_SPEAKER = re.compile(r"^id\d+$")


def read_voxceleb2(source: str | Path, *, validation_speakers: int = 0, seed: int = 0) -> ManifestTable:
    """Train (and validation) manifests from `dev/`, a test manifest from `test/` when it is there.

    Args:
        validation_speakers: How many `dev/` speakers (drawn with `seed`) make a validation split; none of their
            clips is in train.
        seed: Seed of that draw.
    """
    source = Path(source)
    if not ((source / "dev" / "mp4").is_dir() and (source / "dev" / "aac").is_dir()):
        hint = ""
        if (source / "mp4").is_dir() or (source / "aac").is_dir():
            hint = f" ({source} looks like the dev/ folder itself: give its parent)"
        raise DatasetLayoutError(
            f"no dev/mp4/ and dev/aac/ folders: is this VoxCeleb2? Expected {source}/dev/mp4/idXXXXX/<video id>/"
            f"NNNNN.mp4 and {source}/dev/aac/idXXXXX/<video id>/NNNNN.m4a{hint}; {describe_folder(source)}"
        )
    if validation_speakers < 0:
        raise DatasetLayoutError(f"validation speakers {validation_speakers}: must be >= 0")
    left_out: list[tuple[str, str]] = []
    unpaired: dict[str, int] = {}
    dev = _pairs(source / "dev", left_out, unpaired)
    speakers = sorted({row["speaker"] for row in dev})
    if validation_speakers >= len(speakers):
        raise DatasetLayoutError(
            f"--validation-speakers {validation_speakers}: dev/ has {len(speakers)} speaker(s) with paired clips; "
            "at least one must stay for training"
        )
    chosen = set(random.Random(seed).sample(speakers, validation_speakers))
    splits = {
        "train": [row for row in dev if row["speaker"] not in chosen],
        "validation": [row for row in dev if row["speaker"] in chosen],
        "test": [],
    }
    notes = [f"validation: {validation_speakers} dev/ speaker(s) drawn with seed {seed}, none in train"]
    if (source / "test" / "mp4").is_dir() or (source / "test" / "aac").is_dir():
        splits["test"] = _pairs(source / "test", left_out, unpaired)
        notes.append("test: the test/ tree (VoxCeleb2's own test speakers)")
    else:
        notes.append("test: empty (no test/mp4/ and test/aac/)")
    if not splits["train"]:
        raise DatasetLayoutError(f"{source}/dev: no mp4 / m4a pair found; {describe_folder(source / 'dev' / 'mp4')}")
    if unpaired:
        notes.append(f"unpaired files: {unpaired} (listed with the left-out files)")
    return ManifestTable(
        ["video", "audio", "speaker", "youtube_id"],
        splits,
        "pretraining",
        audio_column="audio",
        speaker_column="speaker",
        left_out=left_out,
        notes=notes,
    )


def _pairs(part: Path, left_out: list[tuple[str, str]], unpaired: dict[str, int]) -> list[dict[str, str]]:
    """Rows of the mp4 / m4a pairs of one part (`dev/` or `test/`); the rest goes to `left_out`."""
    trees = {}
    for kind, suffix in (("mp4", ".mp4"), ("aac", ".m4a")):
        files = {}
        root = part / kind
        for path in list_files(root) if root.is_dir() else []:
            relative = path.relative_to(root)
            if path.suffix.lower() != suffix or len(relative.parts) != 3 or not _SPEAKER.match(relative.parts[0]):
                left_out.append((str(path), f"not {kind}/idXXXXX/<video id>/NNNNN{suffix}"))
            elif reason := unreadable_reason(path):
                left_out.append((str(path), reason))
            else:
                files[relative.with_suffix("")] = path
        trees[kind] = files
    videos, sounds = trees["mp4"], trees["aac"]
    paired = pair_by_path(
        videos,
        sounds,
        left_out,
        no_sound=lambda key: f"unpaired: no {part.name}/aac/{key.as_posix()}.m4a",
        no_video=lambda key: f"unpaired: no {part.name}/mp4/{key.as_posix()}.mp4",
    )
    count = len(set(videos) ^ set(sounds))
    if count:
        unpaired[part.name] = count
    return [
        {"video": str(videos[key]), "audio": str(sounds[key]), "speaker": key.parts[0], "youtube_id": key.parts[1]}
        for key in paired
    ]
