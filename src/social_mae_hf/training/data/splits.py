"""The clips of each split, from manifests or a `datasets` dataset, as the data arguments say.

Missing media files are found here, before training: under `--on_decode_error abort` they stop the run
(listed with their rows), under `skip` they are dropped and counted. Files that exist but do not decode are
handled per clip while training (see `clip_dataset.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .manifest import ClipRecord, ManifestError, check_media_exist, read_manifest_splits
from .records import load_dataset_splits, records_from_dataset

if TYPE_CHECKING:
    from ..arguments import DataArguments

__all__ = ["ClipSplits", "load_clip_splits"]

logger = logging.getLogger(__name__)
_SHOWN = 10


@dataclass
class ClipSplits:
    records: dict[str, list[ClipRecord]]
    missing_files: dict[str, int] = field(default_factory=dict)

    def get(self, split: str) -> list[ClipRecord] | None:
        return self.records.get(split)


def _require(records: Mapping[str, list], split: str, flag: str, hint: str) -> None:
    if not records.get(split):
        raise ValueError(f"{flag} needs {hint}")


def load_clip_splits(data_args: DataArguments, task: str, wanted: Mapping[str, bool]) -> ClipSplits:
    """Records of the `wanted` splits (`{"train": do_train, "validation": do_eval, "test": do_predict}`)."""
    columns = data_args.columns(task)
    if data_args.dataset_name:
        loaded = load_dataset_splits(data_args.dataset_name, data_args.dataset_config_name)
        path = Path(data_args.dataset_name).expanduser()
        base_dir = path if path.is_dir() else None
        records = {}
        for ours, theirs in data_args.split_names.items():
            if wanted.get(ours) and theirs in loaded:
                records[ours] = records_from_dataset(
                    loaded[theirs],
                    columns,
                    task,
                    split=theirs,
                    base_dir=base_dir,
                    label_separator=data_args.label_separator,
                )
        source = f"dataset {data_args.dataset_name!r} (splits {sorted(loaded)})"
    else:
        files = {"train": data_args.train_file, "validation": data_args.validation_file, "test": data_args.test_file}
        files = {split: path for split, path in files.items() if path and wanted.get(split)}
        if not files and not data_args.manifest:
            raise ValueError(
                "no data: give --train_file / --validation_file / --test_file, --manifest or --dataset_name"
            )
        all_records = read_manifest_splits(
            files,
            columns,
            task,
            manifest=data_args.manifest,
            split_names=data_args.split_names,
            label_separator=data_args.label_separator,
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
    limits = {
        "train": data_args.max_train_samples,
        "validation": data_args.max_eval_samples,
        "test": data_args.max_predict_samples,
    }
    for split, limit in limits.items():
        if limit is not None and split in records:
            records[split] = records[split][:limit]
    missing_counts = {}
    for split, recs in records.items():
        missing = check_media_exist(recs)
        if not missing:
            continue
        listed = "; ".join(f"{record.source}: {path}" for record, path in missing[:_SHOWN])
        more = f" (and {len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else ""
        if data_args.on_decode_error == "abort":
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
