"""The clips of each split: from one manifest per split, one manifest with a split column, or a `datasets` dataset.

Missing media files are found here, before training: under `--on_decode_error abort` they stop the run
(listed with their rows), under `skip` they are dropped and counted. Files that exist but do not decode are
handled per clip while training (see `clip_dataset.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .clip_dataset import DECODE_ERROR_POLICIES
from .manifest import ClipRecord, ManifestColumns, ManifestError, check_media_exist, read_manifest_splits
from .records import load_dataset_splits, records_from_dataset

__all__ = ["SPLITS", "ClipSplits", "load_clip_splits"]

logger = logging.getLogger(__name__)
_SHOWN = 10
# Our split names, in the order a run uses them (--do_train, --do_eval, --do_predict).
SPLITS = ("train", "validation", "test")


@dataclass
class ClipSplits:
    records: dict[str, list[ClipRecord]]
    missing_files: dict[str, int] = field(default_factory=dict)

    def get(self, split: str) -> list[ClipRecord] | None:
        return self.records.get(split)


def _require(records: Mapping[str, list], split: str, flag: str, hint: str) -> None:
    if not records.get(split):
        raise ValueError(f"{flag} needs {hint}")


def load_clip_splits(
    task: str,
    wanted: Mapping[str, bool],
    columns: ManifestColumns,
    *,
    files: Mapping[str, str | None] | None = None,
    manifest: str | None = None,
    dataset_name: str | None = None,
    dataset_config_name: str | None = None,
    split_names: Mapping[str, str] | None = None,
    label_separator: str = ",",
    max_samples: Mapping[str, int | None] | None = None,
    on_decode_error: str = "abort",
) -> ClipSplits:
    """Records of the `wanted` splits (`{"train": do_train, "validation": do_eval, "test": do_predict}`).

    Args:
        columns: Which manifest / dataset columns hold the media and the targets.
        files: One manifest per split (`{"train": path, ...}`; `None` entries are ignored).
        manifest: Instead, one manifest holding every split, told apart by `columns.split`.
        dataset_name: Instead, a `datasets` dataset (a `save_to_disk` folder, a data folder or a Hub name).
        split_names: Our split -> its name in the dataset or the split column (default: the same names).
        label_separator: Separator of class names in a multi-label cell.
        max_samples: Our split -> keep only its first N clips (`None`: all).
        on_decode_error: Missing media files `"abort"` the run (listed) or are dropped and counted (`"skip"`).
    """
    if on_decode_error not in DECODE_ERROR_POLICIES:
        raise ValueError(f"on_decode_error must be one of {DECODE_ERROR_POLICIES}, got {on_decode_error!r}")
    files = {split: path for split, path in (files or {}).items() if path}
    split_names = {split: split for split in SPLITS} | dict(split_names or {})
    if dataset_name and (files or manifest):
        raise ValueError("give --dataset_name or manifest files, not both")
    if manifest and files:
        raise ValueError("give --manifest (with --split_column) or per-split files, not both")
    if manifest and not columns.split:
        raise ValueError("--manifest needs --split_column (the column naming each row's split)")
    if dataset_name:
        loaded = load_dataset_splits(dataset_name, dataset_config_name)
        path = Path(dataset_name).expanduser()
        base_dir = path if path.is_dir() else None
        records = {}
        for ours, theirs in split_names.items():
            if wanted.get(ours) and theirs in loaded:
                records[ours] = records_from_dataset(
                    loaded[theirs], columns, task, split=theirs, base_dir=base_dir, label_separator=label_separator
                )
        source = f"dataset {dataset_name!r} (splits {sorted(loaded)})"
    else:
        files = {split: path for split, path in files.items() if wanted.get(split)}
        if not files and not manifest:
            raise ValueError(
                "no data: give --train_file / --validation_file / --test_file, --manifest or --dataset_name"
            )
        all_records = read_manifest_splits(
            files, columns, task, manifest=manifest, split_names=split_names, label_separator=label_separator
        )
        records = {split: recs for split, recs in all_records.items() if wanted.get(split)}
        source = "the manifests"
    hints = {
        "train": ("--do_train", "training clips (--train_file, or a train split)"),
        "validation": ("--do_eval", "validation clips (--validation_file, or a validation split)"),
        "test": ("--do_predict", "test clips (--test_file, or a test split)"),
    }
    for split, (flag, hint) in hints.items():
        if wanted.get(split):
            _require(records, split, flag, f"{hint}; none found in {source}")
    for split, limit in (max_samples or {}).items():
        if limit is not None and split in records:
            records[split] = records[split][:limit]
    missing_counts = {}
    for split, recs in records.items():
        missing = check_media_exist(recs)
        if not missing:
            continue
        listed = "; ".join(f"{record.source}: {path}" for record, path in missing[:_SHOWN])
        more = f" (and {len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else ""
        if on_decode_error == "abort":
            raise ManifestError(
                f"{len(missing)} media file(s) of split {split!r} do not exist: {listed}{more}. Fix the paths, or "
                "pass --on_decode_error skip to leave those clips out (they are counted)."
            )
        bad = {id(record) for record, _ in missing}
        records[split] = [record for record in recs if id(record) not in bad]
        missing_counts[split] = len(bad)
        logger.warning("Skipping %d clip(s) of split %r with missing files: %s%s", len(bad), split, listed, more)
        if not records[split]:
            raise ManifestError(f"every clip of split {split!r} is missing its media file")
    return ClipSplits(records, missing_counts)
