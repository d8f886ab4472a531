"""Packing a split's clips into WebDataset-style tar shards (the format is described in `reader.py`), with the
split's `index.json`; `social-mae shard` runs this for each split of a manifest.

Clips are shuffled (seeded) before packing unless asked not to: training shuffles the shard order and a buffer
of samples, which cannot undo a manifest sorted by class or speaker. Features to precompute are computed in
DataLoader workers, in order. A shard is written under a temporary name and renamed once complete; the index is
written last and atomically, with each shard's sample count, size and SHA-256, so that a folder with an
`index.json` holds complete shards (the reader refuses a folder without one). Only files that are media are packed,
and the paths stored in a sample's `json` are relative to the manifest's folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import stat
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..errors import ManifestError
from ..media import DECODE_ERRORS, describe_source
from .precomputed import PRECOMPUTE_CHOICES, compute_features, feature_settings
from .reader import (
    AUDIO_EXTENSIONS,
    INDEX_FORMAT,
    SHARD_INDEX,
    TARGETS_EXTENSION,
    VIDEO_EXTENSIONS,
    add_member,
)

__all__ = ["ShardLimits", "parse_size", "write_split_shards"]

logger = logging.getLogger(__name__)
_SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20,
               "GIB": 2**30}  # fmt: skip


def parse_size(text: str | int | None) -> int | None:
    """`"1GB"`, `"500MB"`, `"256MiB"` or a number of bytes -> bytes."""
    if text is None or isinstance(text, int):
        return text
    value = text.strip().upper().replace(" ", "")
    number = value.rstrip("KMGTIB")
    unit = value[len(number) :]
    try:
        size = float(number) * _SIZE_UNITS[unit]
    except (KeyError, ValueError):
        raise ValueError(f"{text!r} is not a size such as 500MB, 1GB or 268435456") from None
    if size <= 0:
        raise ValueError(f"a shard size must be positive, got {text!r}")
    return int(size)


@dataclass(frozen=True)
class ShardLimits:
    """When a shard is full: `clips` samples, or `bytes` (a shard holds at least one sample)."""

    clips: int | None = 1000
    bytes: int | None = None

    def __post_init__(self):
        if self.clips is None and self.bytes is None:
            raise ValueError("give a number of clips per shard, a shard size, or both")
        if self.clips is not None and self.clips < 1:
            raise ValueError(f"clips per shard must be >= 1, got {self.clips}")


def _tar_size(members: dict[str, bytes]) -> int:
    """Bytes a sample takes in a tar: a 512-byte header per member, data padded to 512."""
    return sum(512 + -(-len(data) // 512) * 512 for data in members.values())


DECODE_ERROR_POLICIES = ("abort", "skip")


@dataclass(frozen=True)
class ShardClip:
    """One clip to pack: its media paths, its target (a class name, a tuple of names or of floats, or `None`) and
    its manifest row's name."""

    video: str | None
    audio: str | None
    target: Any
    source: str


def _media_extension(path: str, kinds: Sequence[str], what: str, source: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in kinds:
        raise ManifestError(f"{source}: {what} {path} has suffix {suffix!r}; a shard stores {what}s as one of {kinds}")
    return suffix


def _target_columns(record: ShardClip, task: str, columns) -> dict:
    if task == "pretraining":
        return {}
    if task == "regression":
        return dict(zip(columns.targets, record.target))
    return {columns.label: list(record.target) if task == "multi_label_classification" else record.target}


class _SampleMembers(torch.utils.data.Dataset):
    """Member bytes of each clip (media, json, precomputed features), built in DataLoader workers."""

    def __init__(self, records, task, columns, processor, features, media_root, follow_symlinks):
        self.records, self.task, self.columns = records, task, columns
        self.processor, self.features = processor, features
        self.media_root, self.follow_symlinks = media_root, follow_symlinks

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[dict[str, bytes], str | None]:
        """(members by extension, None) or ({}, why the clip cannot be packed)."""
        record = self.records[index]
        members = {}
        row = {**_target_columns(record, self.task, self.columns), "_source": record.source}
        media = [self._relative(m) for m in (record.video, record.audio) if m is not None]
        if all(media):  # paths relative to the manifest's folder: shards get published, absolute paths are not
            row["_media"] = media[0] if len(media) == 1 else media
        members[TARGETS_EXTENSION] = json.dumps(row, ensure_ascii=False).encode()
        for kind, path in (("video", record.video), ("audio", record.audio)):
            if path is None:
                continue
            if not isinstance(path, str):
                raise ManifestError(f"{record.source}: only media files can be packed, got {describe_source(path)}")
            try:
                if kind == "video":
                    extension = _media_extension(path, VIDEO_EXTENSIONS, "video", record.source)
                else:
                    kinds = AUDIO_EXTENSIONS + VIDEO_EXTENSIONS
                    extension = "audio." + _media_extension(path, kinds, "audio", record.source)
                file = _media_file(path, self.media_root, self.follow_symlinks, record.source)
                _check_decodes(file, kind, record.source)
                members[extension] = file.read_bytes()
            except (OSError, ManifestError) as error:
                return {}, f"{record.source}: {type(error).__name__}: {error}"
        if self.features:
            try:
                members.update(
                    compute_features(self.processor, record.video, record.audio, self.features, record.source)
                )
            except (*DECODE_ERRORS, ManifestError) as error:
                return {}, f"{record.source}: {type(error).__name__}: {error}"
        return members, None

    def _relative(self, path) -> str | None:
        if self.media_root is None or not isinstance(path, str):
            return None
        root, file = os.path.abspath(self.media_root), os.path.abspath(path)
        return os.path.relpath(file, root) if os.path.commonpath([root, file]) == root else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _media_file(path: str, root: Path | None, follow_symlinks: bool, what: str) -> Path:
    """`path` as a file that may be packed: a regular file (a FIFO or device would hang or leak), inside the
    manifest's folder `root` unless `follow_symlinks` (a link to a private file elsewhere is not packed)."""
    file = Path(path)
    if file.is_symlink() and not follow_symlinks and root is not None:
        target = file.resolve()
        if not target.is_relative_to(root.resolve()):
            raise ManifestError(
                f"{what}: {path} is a symbolic link out of the manifest's folder (to {target}); pass "
                "--follow-symlinks to pack such files"
            )
    if not file.exists():
        raise ManifestError(f"{what}: {path} does not exist")
    if not stat.S_ISREG(file.stat().st_mode):
        raise ManifestError(f"{what}: {path} is not a regular file (a pipe, device or folder cannot be packed)")
    return file


def _check_decodes(path: Path, kind: str, what: str) -> None:
    """Refuse a file that does not open as media with a `kind` stream (only media are packed into shards)."""
    import av

    try:
        with av.open(str(path)) as container:
            streams = container.streams.video if kind == "video" else container.streams.audio
            if not streams:
                raise ManifestError(f"{what}: {path} has no {kind} stream")
    except av.FFmpegError as error:
        raise ManifestError(f"{what}: {path} does not decode as {kind} ({error})") from None


class _ShardWriter:
    """Samples into `{split}-000000.tar`, `{split}-000001.tar`, ...: a new shard when the limits say so."""

    def __init__(self, folder: Path, split: str, limits: ShardLimits):
        self.folder, self.split, self.limits = folder, split, limits
        self.shards: list[dict] = []
        self.tar, self.name, self.count, self.size = None, None, 0, 0

    def add(self, key: str, members: dict[str, bytes]) -> None:
        size = _tar_size(members)
        clips, max_bytes = self.limits.clips, self.limits.bytes
        if self.tar is not None and (
            (clips is not None and self.count >= clips) or (max_bytes is not None and self.size + size > max_bytes)
        ):
            self._finish()
        if self.tar is None:
            self.name, self.count, self.size = f"{self.split}-{len(self.shards):06d}.tar", 0, 1024  # end blocks
            # Written under a temporary name, renamed once complete (closed in _finish).
            self.tar = tarfile.open(self.folder / f"{self.name}.tmp", "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115
        for extension, data in members.items():
            add_member(self.tar, f"{key}.{extension}", data)
        self.count, self.size = self.count + 1, self.size + size

    def _finish(self) -> None:
        self.tar.close()
        os.replace(self.folder / f"{self.name}.tmp", self.folder / self.name)
        path = self.folder / self.name
        entry = {"name": self.name, "num_samples": self.count, "num_bytes": path.stat().st_size}
        entry["sha256"] = _sha256(path)
        self.shards.append(entry)
        self.tar = None

    def close(self) -> list[dict]:
        """The shards written: name, sample count, bytes."""
        if self.tar is not None:
            self._finish()
        return self.shards


def write_split_shards(
    records: Sequence[ShardClip],
    output_dir: str | os.PathLike,
    split: str,
    *,
    task: str,
    columns,
    limits: ShardLimits = ShardLimits(),
    precompute: str = "none",
    processor=None,
    shuffle: bool = True,
    seed: int = 0,
    on_decode_error: str = "abort",
    num_workers: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    media_root: str | os.PathLike | None = None,
    follow_symlinks: bool = False,
) -> dict:
    """Write `records` as `output_dir/{split}-000000.tar`, ... and `output_dir/index.json`; returns the index.

    Args:
        task, columns: What the records' targets are and which `json` keys hold them (a manifest's columns).
        limits: Clips and/or bytes per shard.
        precompute: `"none"`, `"fbank"`, `"frames"` or `"all"` (see `precomputed.py`); needs `processor`.
        shuffle, seed: Pack the clips in a seeded random order (default) or in the records' order.
        on_decode_error: A clip whose media cannot be read or decoded aborts (`"abort"`) or is left out and listed
            in the index (`"skip"`).
        num_workers: DataLoader workers reading and precomputing clips.
        overwrite: Replace what the folder holds of this split (an index, its shards, or shards of a run that was
            cut short); without it such a folder is refused.
        media_root: The manifest's folder: `_media` paths are stored relative to it (none for files outside it),
            and symbolic links out of it are refused unless `follow_symlinks`.
    """
    if precompute not in PRECOMPUTE_CHOICES:
        raise ValueError(f"precompute must be one of {tuple(PRECOMPUTE_CHOICES)}, got {precompute!r}")
    if on_decode_error not in DECODE_ERROR_POLICIES:
        raise ValueError(f"on_decode_error must be one of {DECODE_ERROR_POLICIES}, got {on_decode_error!r}")
    features = PRECOMPUTE_CHOICES[precompute]
    if features and processor is None:
        raise ValueError(f"precompute {precompute!r} needs the processor of the model to train")
    if not records:
        raise ManifestError(f"split {split!r} has no clips to pack")
    folder = Path(output_dir)
    old = sorted(folder.glob(f"{split}-*.tar*")) + ([folder / SHARD_INDEX] if (folder / SHARD_INDEX).exists() else [])
    if old and not overwrite:
        raise ManifestError(
            f"{folder} already holds {split!r} shards or an index ({', '.join(p.name for p in old[:3])}"
            f"{', ...' if len(old) > 3 else ''}): pass --overwrite to replace them"
        )
    for path in old:  # the index first, so that a folder never lists shards that are gone
        path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    records = list(records)
    if shuffle:
        random.Random(seed).shuffle(records)
    loader = torch.utils.data.DataLoader(
        _SampleMembers(records, task, columns, processor, features, media_root, follow_symlinks),
        batch_size=None,
        num_workers=num_workers,
    )
    writer = _ShardWriter(folder, split, limits)
    skipped, kept = [], []
    with tqdm(total=len(records), desc=f"shard {split}", unit="clip", disable=not progress) as bar:
        for record, (members, failure) in zip(records, loader):
            bar.update()
            if failure is not None:
                if on_decode_error == "abort":
                    raise ManifestError(
                        f"cannot pack {failure}. Fix or remove the clip, or pass --on-decode-error skip"
                    )
                logger.warning("Leaving out a clip that could not be packed: %s", failure)
                skipped.append(failure)
                continue
            writer.add(f"{len(kept):09d}", members)
            kept.append(record)
    shards = writer.close()
    if not kept:
        raise ManifestError(f"every clip of split {split!r} failed to pack: {skipped[:5]}")
    index = {
        "format": INDEX_FORMAT,
        "split": split,
        "num_samples": len(kept),
        "shards": shards,
        "pattern": f"{split}-{{000000..{len(shards) - 1:06d}}}.tar",
        "task": task,
        "columns": {"label": columns.label, "targets": list(columns.targets)},
        "features": list(features),
        "processor": feature_settings(processor, features) if features else {},
        "shuffled": {"seed": seed} if shuffle else False,
        "skipped": skipped,
    }
    if task in ("classification", "multi_label_classification"):
        by_class = {}
        for record in kept:
            for name in (record.target,) if task == "classification" else record.target:
                by_class[name] = by_class.get(name, 0) + 1
        index["classes"] = dict(sorted(by_class.items()))
    # Written last and atomically: a folder with an index holds every shard it lists, complete.
    partial = folder / f".{SHARD_INDEX}.tmp"
    partial.write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, folder / SHARD_INDEX)
    return index
