"""Listing a dataset's files: every file is either used or reported with the reason it was left out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["AUDIO_SUFFIXES", "VIDEO_SUFFIXES", "describe_folder", "list_files", "pair_by_path", "unreadable_reason"]

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma"})


def list_files(folder: Path) -> list[Path]:
    """Every file under `folder`, sorted (hidden files too: macOS's `._name` copies are worth seeing)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(Path(root) / name for name in sorted(files))
    return found


def unreadable_reason(path: Path) -> str | None:
    """Why a media file cannot be used without opening it (empty, unreadable), or `None`."""
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
    except OSError as error:
        return f"cannot stat ({error.strerror or error})"
    if not os.access(path, os.R_OK):
        return "not readable (permissions)"
    return None


def describe_folder(folder: Path, limit: int = 8) -> str:
    """What a folder holds, for 'expected ..., found ...' messages."""
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return f"{folder} is empty"
    shown = ", ".join(names[:limit]) + (f", ... ({len(names)} entries)" if len(names) > limit else "")
    return f"{folder} holds {shown}"


def pair_by_path(
    videos: dict[Path, Path],
    sounds: dict[Path, Path],
    left_out: list[tuple[str, str]],
    *,
    no_sound: Callable[[Path], str],
    no_video: Callable[[Path], str],
) -> list[Path]:
    """The keys (relative paths without suffix) that have both a video and a sound file, sorted; a file without its
    partner goes to `left_out` with the reason `no_sound(key)` / `no_video(key)` gives."""
    for key in sorted(videos.keys() - sounds.keys()):
        left_out.append((str(videos[key]), no_sound(key)))
    for key in sorted(sounds.keys() - videos.keys()):
        left_out.append((str(sounds[key]), no_video(key)))
    return sorted(videos.keys() & sounds.keys())
