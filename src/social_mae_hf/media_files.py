"""Which files a command runs on: the files named, and the media files in the folders named."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MEDIA_SUFFIXES", "collect_media"]

# Containers PyAV reads that hold video or audio; other files in a folder are left out (and counted).
MEDIA_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp"}
    | {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma"}
)


def collect_media(paths: list[str | os.PathLike], recursive: bool = False) -> tuple[list[Path], list[Path]]:
    """(files to run on, files skipped): files are taken as given (a non-media file then fails, naming itself);
    folders contribute their media files by suffix, sorted, subfolders too with `recursive`."""
    files, skipped = [], []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in (path.rglob("*") if recursive else path.iterdir()) if p.is_file())
            for p in found:
                (files if p.suffix.lower() in MEDIA_SUFFIXES else skipped).append(p)
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    if not files:
        raise ValueError(
            f"no media files in {', '.join(map(str, paths))} (looked for {', '.join(sorted(MEDIA_SUFFIXES))})"
        )
    return files, skipped
