"""The clips of each split: from one manifest per split, one manifest with a split column, or a `datasets` dataset
(listed up front); or from shards or a `datasets` stream (read as training goes, `streaming.py`).

Missing media files of listed clips are found here, before training: under `--on_decode_error abort` they stop
the run (listed with their rows), under `skip` they are dropped and counted. Files that exist but do not decode
are handled per clip while training (see `clip_dataset.py`), and so are the clips of streams.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .clip_dataset import DECODE_ERROR_POLICIES, ClipDataset
from .manifest import ClipRecord, ManifestColumns, ManifestError, check_media_exist, read_manifest_splits
from .records import StreamedSplit, load_dataset_splits, records_from_dataset, stream_dataset_splits
from .shards import ShardSet, open_shards
from .streaming import DEFAULT_SHUFFLE_BUFFER, ShardedClipDataset, StreamedClipDataset
from .targets import TargetEncoder

__all__ = ["SPLITS", "ClipSplits", "load_clip_splits", "split_dataset"]

logger = logging.getLogger(__name__)
_SHOWN = 10
# Our split names, in the order a run uses them (--do_train, --do_eval, --do_predict).
SPLITS = ("train", "validation", "test")


@dataclass
class ClipSplits:
    """Each split's clips: `records` for listed splits, `streams` (a [`ShardSet`] or [`StreamedSplit`]) for
    streamed ones; `missing_files` counts listed clips left out for a missing file (`--on_decode_error skip`)."""

    records: dict[str, list[ClipRecord]]
    missing_files: dict[str, int] = field(default_factory=dict)
    streams: dict[str, ShardSet | StreamedSplit] = field(default_factory=dict)

    def get(self, split: str) -> list[ClipRecord] | None:
        return self.records.get(split)

    def classes(self) -> dict[str, list[ClipRecord] | set[str] | None]:
        """Split -> its records, or a stream's class names (`None`: unknown), for `choose_label_names`."""
        out: dict = dict(self.records)
        out.update({split: stream.class_names for split, stream in self.streams.items()})
        return out

    def check(self, encoder: TargetEncoder) -> None:
        """Every listed clip's target, and every class a stream's index lists, is one `encoder` knows."""
        for records in self.records.values():
            encoder.check(records)
        if encoder.task not in ("classification", "multi_label_classification"):
            return
        for split, stream in self.streams.items():
            unknown = sorted((stream.class_names or set()) - set(encoder.names))
            if unknown:
                raise ManifestError(
                    f"split {split!r} ({_describe(stream)}) has class(es) {unknown} not among the "
                    f"{encoder.num_labels} classes {list(encoder.names)}"
                )

    def class_indices(self, split: str, encoder: TargetEncoder) -> list[int]:
        """The encoded class of each clip of `split` (for `--class_weights balanced`)."""
        if split in self.records:
            return [encoder.encode(record) for record in self.records[split]]
        stream = self.streams.get(split)
        counts = stream.class_counts if isinstance(stream, ShardSet) else None
        if counts is None:
            raise ValueError(
                f"the class counts of split {split!r} are unknown ({_describe(stream)}): give --class_weights as one "
                "weight per class instead of 'balanced'"
            )
        return [encoder.label2id[name] for name, count in counts.items() for _ in range(count)]


def _describe(stream) -> str:
    if isinstance(stream, ShardSet):
        return f"shards {stream.source}"
    return "a streamed dataset" if stream is not None else "no clips"


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
    shards: Mapping[str, str | None] | None = None,
    streaming: bool = False,
    cache_dir: str | None = None,
    token: str | None = None,
) -> ClipSplits:
    """Records (or streams) of the `wanted` splits (`{"train": do_train, "validation": do_eval, "test":
    do_predict}`).

    Args:
        columns: Which manifest / dataset columns hold the media and the targets.
        files: One manifest per split (`{"train": path, ...}`; `None` entries are ignored).
        manifest: Instead, one manifest holding every split, told apart by `columns.split`.
        dataset_name: Instead, a `datasets` dataset (a `save_to_disk` folder, a data folder or a Hub name).
        split_names: Our split -> its name in the dataset or the split column (default: the same names).
        label_separator: Separator of class names in a multi-label cell.
        max_samples: Our split -> keep only its first N clips (`None`: all).
        on_decode_error: Missing media files `"abort"` the run (listed) or are dropped and counted (`"skip"`).
        shards: Our split -> its shards ([`open_shards`]: a folder with an index, a brace pattern, a URL); these
            splits are streamed, the others come from the files, manifest or dataset.
        streaming: Read `dataset_name` as a stream instead of listing its rows.
        cache_dir, token: Where a Hub dataset is cached, and the token a private one needs.
    """
    if on_decode_error not in DECODE_ERROR_POLICIES:
        raise ValueError(f"on_decode_error must be one of {DECODE_ERROR_POLICIES}, got {on_decode_error!r}")
    files = {split: path for split, path in (files or {}).items() if path and wanted.get(split)}
    shards = {split: spec for split, spec in (shards or {}).items() if spec and wanted.get(split)}
    split_names = {split: split for split in SPLITS} | dict(split_names or {})
    if dataset_name and (files or manifest):
        raise ValueError("give --dataset_name or manifest files, not both")
    if manifest and files:
        raise ValueError("give --manifest (with --split_column) or per-split files, not both")
    if manifest and not columns.split:
        raise ValueError("--manifest needs --split_column (the column naming each row's split)")
    if streaming and not dataset_name:
        raise ValueError("--streaming streams a `datasets` dataset: give --dataset_name (shards are always streamed)")
    both = sorted(set(files) & set(shards))
    if both:
        raise ValueError(f"split(s) {both} have both a manifest file and shards: give one")
    records: dict[str, list[ClipRecord]] = {}
    streams: dict[str, ShardSet | StreamedSplit] = {split: open_shards(spec) for split, spec in shards.items()}
    unsharded = {split: split_names[split] for split in SPLITS if wanted.get(split) and split not in shards}
    if dataset_name and streaming:
        streams.update(
            stream_dataset_splits(
                dataset_name,
                dataset_config_name,
                columns,
                task,
                unsharded,
                label_separator=label_separator,
                cache_dir=cache_dir,
                token=token,
            )
        )
        source = f"dataset {dataset_name!r}"
    elif dataset_name:
        loaded = load_dataset_splits(dataset_name, dataset_config_name, cache_dir=cache_dir, token=token)
        path = Path(dataset_name).expanduser()
        base_dir = path if path.is_dir() else None
        for ours, theirs in unsharded.items():
            if theirs in loaded:
                records[ours] = records_from_dataset(
                    loaded[theirs], columns, task, split=theirs, base_dir=base_dir, label_separator=label_separator
                )
        source = f"dataset {dataset_name!r} (splits {sorted(loaded)})"
    elif files or manifest:
        all_records = read_manifest_splits(
            files, columns, task, manifest=manifest, split_names=split_names, label_separator=label_separator
        )
        records = {split: recs for split, recs in all_records.items() if split in unsharded}
        source = "the manifests"
    elif not shards:
        raise ValueError(
            "no data: give --train_file / --validation_file / --test_file, --manifest, --dataset_name or "
            "--train_shards / --validation_shards / --test_shards"
        )
    else:
        source = "the shards"
    hints = {
        "train": ("--do_train", "training clips (--train_file, --train_shards, or a train split)"),
        "validation": ("--do_eval", "validation clips (--validation_file, --validation_shards, or a validation split)"),
        "test": ("--do_predict", "test clips (--test_file, --test_shards, or a test split)"),
    }
    for split, (flag, hint) in hints.items():
        if wanted.get(split):
            _require({**records, **streams}, split, flag, f"{hint}; none found in {source}")
    for split, limit in (max_samples or {}).items():
        if limit is None:
            continue
        if split in records:
            records[split] = records[split][:limit]
        elif isinstance(streams.get(split), ShardSet):
            streams[split] = streams[split].limited(limit)
        elif split in streams:
            streams[split] = dataclasses.replace(streams[split], dataset=streams[split].dataset.take(limit))
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
    return ClipSplits(records, missing_counts, streams)


def split_dataset(
    splits: ClipSplits,
    split: str,
    processor,
    targets: TargetEncoder,
    *,
    columns: ManifestColumns,
    modality: str = "audiovisual",
    training: bool = False,
    on_decode_error: str = "abort",
    shuffle_buffer_size: int = DEFAULT_SHUFFLE_BUFFER,
    seed: int = 0,
    use_precomputed_features: bool = True,
    label_separator: str = ",",
):
    """The torch dataset of `split`: a [`ClipDataset`] of its records, a [`ShardedClipDataset`] of its shards or a
    [`StreamedClipDataset`] of its `datasets` stream. `shuffle_buffer_size` and `seed` apply to streams only
    (listed clips are shuffled by the `Trainer`'s sampler); `columns`, `label_separator` (how a sample's `json`
    member holds its target) and `use_precomputed_features` to shards only."""
    common = dict(modality=modality, training=training, on_decode_error=on_decode_error)
    stream = splits.streams.get(split)
    if isinstance(stream, ShardSet):
        return ShardedClipDataset(
            stream,
            processor,
            targets,
            columns=columns,
            shuffle_buffer_size=shuffle_buffer_size,
            seed=seed,
            use_precomputed_features=use_precomputed_features,
            label_separator=label_separator,
            **common,
        )
    if stream is not None:
        return StreamedClipDataset(
            stream, processor, targets, shuffle_buffer_size=shuffle_buffer_size, seed=seed, **common
        )
    return ClipDataset(splits.get(split), processor, targets, **common)
