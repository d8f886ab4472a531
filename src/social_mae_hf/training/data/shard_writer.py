"""Packing a split's clips into WebDataset-style tar shards (the format is described in `shards.py`), with the
split's `index.json`; `social-mae shard` runs this for each split of a manifest.

Clips are shuffled (seeded) before packing unless asked not to: training shuffles the shard order and a buffer
of samples, which cannot undo a manifest sorted by class or speaker. Features to precompute are computed in
DataLoader workers, in order. A shard is written under a temporary name and renamed once complete; the index is
written last, so that a folder with an `index.json` holds complete shards.
"""

from __future__ import annotations

import json
import logging
import os
import random
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ...media import describe_source
from .clip_dataset import DECODE_ERROR_POLICIES, DECODE_ERRORS
from .manifest import ClipRecord, ManifestColumns, ManifestError
from .precomputed import PRECOMPUTE_CHOICES, compute_features, feature_settings
from .shards import (
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


def _media_extension(path: str, kinds: Sequence[str], what: str, source: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in kinds:
        raise ManifestError(f"{source}: {what} {path} has suffix {suffix!r}; a shard stores {what}s as one of {kinds}")
    return suffix


def _target_columns(record: ClipRecord, task: str, columns: ManifestColumns) -> dict:
    if task == "pretraining":
        return {}
    if task == "regression":
        return dict(zip(columns.targets, record.target))
    return {columns.label: list(record.target) if task == "multi_label_classification" else record.target}


class _SampleMembers(torch.utils.data.Dataset):
    """Member bytes of each clip (media, json, precomputed features), built in DataLoader workers."""

    def __init__(self, records, task, columns, processor, features):
        self.records, self.task, self.columns = records, task, columns
        self.processor, self.features = processor, features

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[dict[str, bytes], str | None]:
        """(members by extension, None) or ({}, why the clip cannot be packed)."""
        record = self.records[index]
        members = {}
        row = {**_target_columns(record, self.task, self.columns), "_source": record.source}
        media = [str(m) for m in (record.video, record.audio) if m is not None]
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
                members[extension] = Path(path).read_bytes()
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
        entry = {"name": self.name, "num_samples": self.count, "num_bytes": (self.folder / self.name).stat().st_size}
        self.shards.append(entry)
        self.tar = None

    def close(self) -> list[dict]:
        """The shards written: name, sample count, bytes."""
        if self.tar is not None:
            self._finish()
        return self.shards


def write_split_shards(
    records: Sequence[ClipRecord],
    output_dir: str | os.PathLike,
    split: str,
    *,
    task: str,
    columns: ManifestColumns,
    limits: ShardLimits = ShardLimits(),
    precompute: str = "none",
    processor=None,
    shuffle: bool = True,
    seed: int = 0,
    on_decode_error: str = "abort",
    num_workers: int = 0,
    overwrite: bool = False,
    progress: bool = True,
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
        overwrite: Replace the shards of an existing index.
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
    if (folder / SHARD_INDEX).exists():
        if not overwrite:
            raise ManifestError(f"{folder / SHARD_INDEX} exists: pass --overwrite to write the {split!r} shards again")
        old = json.loads((folder / SHARD_INDEX).read_text(encoding="utf-8"))
        (folder / SHARD_INDEX).unlink()
        for entry in old.get("shards", []):
            (folder / entry["name"]).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    records = list(records)
    if shuffle:
        random.Random(seed).shuffle(records)
    loader = torch.utils.data.DataLoader(
        _SampleMembers(records, task, columns, processor, features),
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
    (folder / SHARD_INDEX).write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return index
