"""The original Social-MAE code's tree: `video/<split>/<id>/<url>/x.mp4` with its sound in
`audio/<split>/<id>/<url>/x.wav`, the class being the `<id>` folder. For users of the original code."""

from __future__ import annotations

from pathlib import Path

from .scan import AUDIO_SUFFIXES, VIDEO_SUFFIXES, describe_folder, list_files, pair_by_path, unreadable_reason
from .table import DatasetLayoutError, ManifestTable

__all__ = ["SPLIT_FOLDERS", "read_social_mae_layout"]

# Split folder name -> our split.
SPLIT_FOLDERS = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}


def read_social_mae_layout(source: str | Path) -> ManifestTable:
    """One row per video with a sound file at the same relative path; class names are sorted in the summary (the
    original took them in the file system's order)."""
    source = Path(source)
    if not ((source / "video").is_dir() and (source / "audio").is_dir()):
        raise DatasetLayoutError(
            f"no video/ and audio/ folders: is this the original Social-MAE layout? Expected "
            f"{source}/video/<split>/<class>/<url>/x.mp4 and {source}/audio/<split>/<class>/<url>/x.wav; "
            f"{describe_folder(source)}"
        )
    left_out: list[tuple[str, str]] = []
    trees = {}
    for kind, suffixes in (("video", VIDEO_SUFFIXES), ("audio", AUDIO_SUFFIXES)):
        root = source / kind
        unknown = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.lower() not in SPLIT_FOLDERS)
        if unknown:
            raise DatasetLayoutError(
                f"{root}: split folder(s) {unknown} are none of {sorted(SPLIT_FOLDERS)} (train / validation / test)"
            )
        files = {}
        for path in list_files(root):
            relative = path.relative_to(root)
            if path.suffix.lower() not in suffixes or len(relative.parts) != 4:
                left_out.append((str(path), f"not {kind}/<split>/<class>/<url>/<clip> with a {kind} suffix"))
            elif reason := unreadable_reason(path):
                left_out.append((str(path), reason))
            elif (key := relative.with_suffix("")) in files:
                left_out.append((str(path), f"a second {kind} file for {key.as_posix()} (the first: {files[key]})"))
            else:
                files[key] = path
        trees[kind] = files
    videos, sounds = trees["video"], trees["audio"]
    paired = pair_by_path(
        videos,
        sounds,
        left_out,
        no_sound=lambda key: f"unpaired: no audio/{key.as_posix()}.* sound file",
        no_video=lambda key: f"unpaired: no video/{key.as_posix()}.* video file",
    )
    splits: dict[str, list[dict[str, str]]] = {}
    for key in paired:
        split, label, url = key.parts[:3]
        row = {"video": str(videos[key]), "audio": str(sounds[key]), "label": label, "url": url}
        splits.setdefault(SPLIT_FOLDERS[split.lower()], []).append(row)
    if not splits:
        raise DatasetLayoutError(f"{source}: no video with a sound file at the same relative path under audio/")
    return ManifestTable(
        ["video", "audio", "label", "url"],
        splits,
        "classification",
        audio_column="audio",
        label_column="label",
        left_out=left_out,
        notes=["splits from the <split> folders; class = the <id> folder"],
    )
