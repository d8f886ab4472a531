"""Training clips through `datasets`: manifests (CSV, TSV, JSON Lines, JSON) load with `datasets.load_dataset`,
`datasets` datasets with `load_from_disk` / `load_dataset` (streamed with `streaming=True`), and each clip is
decoded on the fly by the processor in a `set_transform` (`IterableDataset.map` for a stream), in DataLoader
workers.

What `datasets` does not check is checked here, before any training: the columns a task needs, every target
(unknown classes, non-numbers), and, under `--on_decode_error abort`, that every media file exists. A clip that
exists but does not decode aborts the run naming it, or (`skip`) reaches the collator as a failure that it drops
and counts; it is never zero-filled.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, ManifestError, MediaDecodeError
from ..manifests.reading import load_manifest, media_path, quiet_datasets
from ..media import DECODE_ERRORS, describe_source
from ..shards.dataset import ShardedClipDataset
from ..shards.reader import ShardSet, open_shards

__all__ = [
    "DECODE_ERROR_POLICIES",
    "MODALITY_CHOICES",
    "SPLITS",
    "TASKS",
    "ClipDecodeError",
    "ClipTransform",
    "ManifestColumns",
    "ManifestError",
    "TargetEncoder",
    "decoded_dataset",
    "load_clip_datasets",
    "optional_column",
]

logger = logging.getLogger(__name__)

TASKS = ("classification", "multi_label_classification", "regression", "pretraining")
SPLITS = ("train", "validation", "test")
DECODE_ERROR_POLICIES = ("abort", "skip")
# --modality value -> processor modalities.
MODALITY_CHOICES = {"audiovisual": ("audio", "video"), "audio": ("audio",), "video": ("video",)}
# Column added to listed splits: where each clip's row is ("train.csv row 3"), for messages.
ROW_COLUMN = "_source"
_SHOWN = 10


class ClipDecodeError(MediaDecodeError):
    """A clip could not be decoded; the message names its row (or shard sample) and its media."""


def optional_column(name: str | None) -> str | None:
    """A column name given on the command line, where `"none"` (or nothing) means no such column."""
    return None if name is None or name.strip().lower() in ("", "none") else name.strip()


@dataclass(frozen=True)
class ManifestColumns:
    """Which columns hold what: `video` (a video with its sound; `None` for audio files only), `audio` (a separate
    sound that replaces the video's), `label` (class name, or names for multi-label: a JSON list or names joined by
    a separator), `targets` (regression floats), `split` (one manifest holding several splits)."""

    video: str | None = "video"
    audio: str | None = None
    label: str | None = "label"
    targets: tuple[str, ...] = ()
    split: str | None = None

    @property
    def media(self) -> list[str]:
        return [c for c in (self.video, self.audio) if c is not None]

    def required(self, task: str) -> list[str]:
        """Columns a manifest for `task` must have."""
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if not self.media:
            raise ValueError("give a video column, an audio column, or both")
        names = [*self.media, *([self.split] if self.split else [])]
        if task in ("classification", "multi_label_classification"):
            if self.label is None:
                raise ValueError(f"task {task!r} needs a label column")
            names.append(self.label)
        elif task == "regression":
            if not self.targets:
                raise ValueError("task 'regression' needs at least one target column")
            names.extend(self.targets)
        return names


# ---- targets ----------------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value != value  # NaN


@dataclass(frozen=True)
class TargetEncoder:
    """Class names (or regression target names) in model output order, and the `labels` of one row: a class
    index (classification), a multi-hot float list (multi-label), the floats (regression), nothing (pretraining).
    Without `names` it reads the classes a row uses (`classes`), before they are chosen. Rows are manifest rows, `datasets` rows or a shard sample's `json` member; `where` names them in errors."""

    task: str
    names: tuple[str, ...]
    columns: ManifestColumns = ManifestColumns()
    separator: str = ","

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"label names must be unique, got {list(self.names)}")

    @property
    def num_labels(self) -> int:
        return len(self.names)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def classes(self, row: Mapping, where: str) -> tuple[str, ...]:
        """The class names of a row's label cell, checked (not yet against `names`)."""
        column = self.columns.label
        value = row.get(column)
        if _is_missing(value):
            raise ManifestError(f"{where}: column {column!r} is empty")
        if self.task == "classification":
            if isinstance(value, (list, tuple)):
                raise ManifestError(
                    f"{where}, column {column!r}: a single-label task needs one class name, got a list {value!r} "
                    "(use --task multi_label_classification for several labels per clip)"
                )
            return (str(value).strip(),)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as error:
                    raise ManifestError(f"{where}, column {column!r}: {text!r} is not a JSON list ({error})") from None
            else:
                value = text.split(self.separator)
        if not isinstance(value, (list, tuple)):
            raise ManifestError(f"{where}, column {column!r}: expected a list of class names, got {value!r}")
        names = tuple(str(v).strip() for v in value)
        if any(not n for n in names):
            raise ManifestError(f"{where}, column {column!r}: empty class name in {value!r}")
        if len(set(names)) != len(names):
            raise ManifestError(f"{where}, column {column!r}: a class is listed twice in {value!r}")
        return names

    def encode(self, row: Mapping, where: str) -> int | list[float] | None:
        if self.task == "pretraining":
            return None
        if self.task == "regression":
            return [_as_float(row.get(name), f"{where}, column {name!r}") for name in self.names]
        classes = self.classes(row, where)
        index = self.label2id
        unknown = [c for c in classes if c not in index]
        if unknown:
            by_case = {name.casefold(): name for name in self.names}
            hints = [f"{c!r} vs {by_case[c.casefold()]!r}" for c in unknown if c.casefold() in by_case]
            hint = f" (they differ only by case: {', '.join(hints)})" if hints else ""
            raise ManifestError(
                f"{where}: class(es) {unknown} not among the {self.num_labels} known classes {list(self.names)}{hint}"
            )
        if self.task == "classification":
            return index[classes[0]]
        hot = [0.0] * self.num_labels
        for name in classes:
            hot[index[name]] = 1.0
        return hot

    def check(self, dataset, split: str) -> None:
        """Every row of a listed split encodes (reads only the target columns); a stream's or shard set's declared
        classes are known."""
        if self.task == "pretraining":
            return
        if not _listed(dataset):
            unknown = sorted((self.class_names(dataset, split) or set()) - set(self.names))
            if unknown and self.task != "regression":
                raise ManifestError(f"split {split!r} has class(es) {unknown} not among the classes {list(self.names)}")
            return
        for where, row in _target_rows(dataset, self, split):
            self.encode(row, where)

    def class_names(self, dataset, split: str) -> set[str] | None:
        """The classes a split's labels use; for a stream, those its `ClassLabel` feature declares (`None`:
        unknown)."""
        if isinstance(dataset, ShardSet):  # from its index
            return dataset.class_names
        if not _listed(dataset):
            return getattr(dataset, "class_names", None)
        return {name for where, row in _target_rows(dataset, self, split) for name in self.classes(row, where)}

    def class_indices(self, dataset, split: str) -> list[int]:
        """The encoded class of each clip of a split (for `--class_weights balanced`)."""
        if isinstance(dataset, ShardSet) and dataset.class_counts is not None:  # from its index
            return [self.label2id[name] for name, count in dataset.class_counts.items() for _ in range(count)]
        if not _listed(dataset):
            raise ValueError(
                f"the class counts of split {split!r} are unknown (a stream): give --class_weights as one weight per "
                "class instead of 'balanced'"
            )
        return [self.encode(row, where) for where, row in _target_rows(dataset, self, split)]


def _listed(dataset) -> bool:
    """A `datasets.Dataset` (its rows can be read up front), not a stream or a shard set."""
    return hasattr(dataset, "select_columns") and hasattr(dataset, "__len__")


def _as_float(value: Any, where: str) -> float:
    if _is_missing(value):
        raise ManifestError(f"{where} is empty")
    if isinstance(value, bool):
        raise ManifestError(f"{where}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ManifestError(f"{where}: {value!r} is not a finite number")
    return number


def _target_rows(dataset, encoder: TargetEncoder, split: str):
    """(where, row of the target columns) of each row of a listed split."""
    columns = list(encoder.names) if encoder.task == "regression" else [encoder.columns.label]
    table = dataset.select_columns([*columns, ROW_COLUMN]).to_dict()
    for i, where in enumerate(table[ROW_COLUMN]):
        yield where, {c: table[c][i] for c in columns}


def _rows_named(dataset, name: str):
    """The split with each row's place (`name row N`, counted from 1) in `ROW_COLUMN`."""
    return dataset.add_column(ROW_COLUMN, [f"{name} row {i + 1}" for i in range(len(dataset))])


# ---- loading ----------------------------------------------------------------------------------------------------


def _check_columns(dataset, required: Sequence[str], where: str) -> None:
    names = list(dataset.features or dataset.column_names or [])
    missing = [c for c in required if c not in names]
    if missing:
        raise ManifestError(f"{where}: missing column(s) {missing}; it has {names}")


def _prepared(dataset, columns: ManifestColumns, base: Path | None):
    """Media paths made absolute (relative ones taken from `base`, the manifest's or dataset's folder), `Video` /
    `Audio` features left undecoded (the processor decodes them), class-label indices turned into names."""
    import datasets

    features = dataset.features or {}
    path_columns = []
    for column in columns.media:
        feature = features.get(column)
        if isinstance(feature, (datasets.Video, datasets.Audio)):
            dataset = dataset.cast_column(column, type(feature)(decode=False))
        else:
            path_columns.append(column)
    label = features.get(columns.label) if columns.label else None
    inner = getattr(label, "feature", None)
    class_label = label if isinstance(label, datasets.ClassLabel) else inner
    if not isinstance(class_label, datasets.ClassLabel):
        class_label = None

    def prepare(batch):
        for column in path_columns:
            batch[column] = [_absolute(value, base) for value in batch[column]]
        if class_label is not None:
            values = batch[columns.label]
            batch[columns.label] = [
                None if v is None else class_label.int2str(v) if isinstance(v, int) else class_label.int2str(list(v))
                for v in values
            ]
        return batch

    if not path_columns and class_label is None:
        return dataset, None
    names = set(class_label.names) if class_label is not None else None
    new_features = None
    if class_label is not None:  # the label column holds names from now on
        new_features = datasets.Features(features.copy())
        text = datasets.Value("string")
        new_features[columns.label] = text if label is class_label else datasets.List(text)
    if isinstance(dataset, datasets.IterableDataset):
        return dataset.map(prepare, batched=True, features=new_features), names
    with quiet_datasets():
        return dataset.map(prepare, batched=True, keep_in_memory=True, features=new_features), names


def _absolute(value, base: Path | None):
    if not isinstance(value, str) or not value.strip():
        return value  # left for the checks / the decoding to name
    return media_path(value, base)


def _loaded_splits(
    wanted: Sequence[str],
    columns: ManifestColumns,
    files: Mapping[str, str],
    manifest: str | None,
    dataset_name: str | None,
    dataset_config_name: str | None,
    split_names: Mapping[str, str],
    streaming: bool,
    cache_dir: str | None,
    token: str | None,
) -> tuple[dict, dict[str, Path | None], str]:
    """Our split -> its raw dataset, the folder its relative paths start from, and a name of the source."""
    import datasets

    if files:
        loaded = {}
        for split, path in files.items():
            loaded[split] = _rows_named(load_manifest(path, cache_dir), Path(path).name)
        return loaded, {split: Path(path).resolve().parent for split, path in files.items()}, "the manifests"
    if manifest:
        table = _rows_named(load_manifest(manifest, cache_dir), Path(manifest).name)
        _check_columns(table, [columns.split], manifest)
        values = [None if _is_missing(v) else str(v).strip() for v in table[columns.split]]
        by_value = {split_names[split]: split for split in SPLITS}
        for row, value in enumerate(values):
            if value not in by_value:
                raise ManifestError(
                    f"{manifest} row {row + 1}: split {value!r} is none of the expected split values {sorted(by_value)}"
                )
        out = {}
        for split in wanted:
            rows = [i for i, value in enumerate(values) if by_value[value] == split]
            if rows:
                out[split] = table.select(rows)
        base = Path(manifest).resolve().parent
        return out, dict.fromkeys(out, base), f"manifest {manifest}"
    path = Path(os.path.expanduser(dataset_name))
    saved = path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file())
    try:
        if saved:
            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.Dataset):
                loaded = datasets.DatasetDict({"train": loaded})
            if streaming:
                loaded = {
                    name: table.to_iterable_dataset(num_shards=min(64, len(table))) for name, table in loaded.items()
                }
        else:
            loaded = datasets.load_dataset(
                str(path) if path.is_dir() else dataset_name,
                dataset_config_name,
                streaming=streaming,
                cache_dir=cache_dir,
                token=token,
            )
    except (ConnectionError, OSError) as error:
        raise ManifestError(
            f"--dataset_name {dataset_name!r}: not a local dataset folder, and loading it from the Hugging Face Hub "
            f"failed ({type(error).__name__}: {error}). Check the name and your network, or pass a local folder."
        ) from error
    out = {split: loaded[split_names[split]] for split in wanted if split_names[split] in loaded}
    base = path.resolve() if path.is_dir() else None
    return out, dict.fromkeys(out, base), f"dataset {dataset_name!r} (splits {sorted(loaded)})"


def load_clip_datasets(
    task: str,
    wanted: Mapping[str, bool],
    columns: ManifestColumns,
    *,
    files: Mapping[str, str | None] | None = None,
    manifest: str | None = None,
    dataset_name: str | None = None,
    dataset_config_name: str | None = None,
    split_names: Mapping[str, str] | None = None,
    max_samples: Mapping[str, int | None] | None = None,
    on_decode_error: str = "abort",
    shards: Mapping[str, str | None] | None = None,
    streaming: bool = False,
    cache_dir: str | None = None,
    token: str | None = None,
    check_media: bool = True,
) -> tuple[dict, dict[str, int]]:
    """The `wanted` splits (`{"train": do_train, ...}`), checked, and the clips each split left out for a missing
    media file (`on_decode_error="skip"`).

    A split is a `datasets.Dataset`, a `datasets.IterableDataset` (`streaming`), or a [`ShardSet`] (`shards`: our
    split -> a folder written by `social-mae shard`, a brace pattern or a URL). The others come from one manifest
    per split (`files`), one `manifest` with a `columns.split` column, or a `datasets` `dataset_name` (a
    `save_to_disk` folder, a data folder or a Hub name). `split_names` maps our split names to the dataset's (or
    to the split column's values). `check_media=False` leaves the media files unchecked and the splits without
    clips out (for `social-mae shard`, which checks each file as it packs it).
    """
    if on_decode_error not in DECODE_ERROR_POLICIES:
        raise ValueError(f"on_decode_error must be one of {DECODE_ERROR_POLICIES}, got {on_decode_error!r}")
    splits = [split for split in SPLITS if wanted.get(split)]
    shards = {split: spec for split, spec in (shards or {}).items() if spec and split in splits}
    files = {split: path for split, path in (files or {}).items() if path and split in splits}
    both = sorted(set(files) & set(shards))
    if both:
        raise ValueError(f"split(s) {both} have both a manifest file and shards: give one")
    split_names = {split: split for split in SPLITS} | dict(split_names or {})
    if dataset_name and (files or manifest):
        raise ValueError("give --dataset_name or manifest files, not both")
    if manifest and files:
        raise ValueError("give --manifest (with --split_column) or per-split files, not both")
    if manifest and not columns.split:
        raise ValueError("--manifest needs --split_column (the column naming each row's split)")
    if streaming and not dataset_name:
        raise ValueError("--streaming streams a `datasets` dataset: give --dataset_name (shards are always streamed)")
    if not (files or manifest or dataset_name or shards):
        raise ValueError(
            "no data: give --train_file / --validation_file / --test_file, --manifest, --dataset_name or "
            "--train_shards / --validation_shards / --test_shards"
        )
    out = {split: open_shards(spec) for split, spec in shards.items()}
    for split, limit in (max_samples or {}).items():
        if split in out and limit is not None:
            out[split] = out[split].limited(limit)
    raw, bases, source = {}, {}, "the shards"
    rest = [split for split in splits if split not in shards]
    if rest and (files or manifest or dataset_name):
        raw, bases, source = _loaded_splits(
            rest, columns, files, manifest, dataset_name, dataset_config_name, split_names, streaming, cache_dir, token
        )
    required = [c for c in columns.required(task) if c != columns.split]
    missing_counts = {}
    for split, dataset in raw.items():
        _check_columns(dataset, required, files.get(split) or f"split {split!r} of {source}")
        dataset, declared = _prepared(dataset, columns, bases[split])
        limit = (max_samples or {}).get(split)
        if streaming:
            dataset = dataset.take(limit) if limit is not None else dataset
            dataset.class_names = declared  # what a `ClassLabel` declares (None: unknown)
            out[split] = dataset
            continue
        if limit is not None:
            dataset = dataset.select(range(min(limit, len(dataset))))
        if ROW_COLUMN not in dataset.column_names:  # a `datasets` dataset's rows
            dataset = _rows_named(dataset, f"split {split!r}")
        if check_media:
            dataset, missing_counts[split] = _without_missing_files(dataset, columns, split, on_decode_error)
        out[split] = dataset
    hints = {
        "train": "--do_train needs training clips (--train_file, --train_shards, or a train split)",
        "validation": "--do_eval needs validation clips (--validation_file, --validation_shards, or a validation split)",
        "test": "--do_predict needs test clips (--test_file, --test_shards, or a test split)",
    }
    for split in splits:
        if split not in out and check_media:
            raise ValueError(f"{hints[split]}; none found in {source}")
    return out, {k: v for k, v in missing_counts.items() if v}


def _without_missing_files(dataset, columns: ManifestColumns, split: str, policy: str):
    """The split without its rows whose media file does not exist (`skip`), or an error listing them (`abort`)."""
    missing = []
    for column in columns.media:
        for row, value in enumerate(dataset[column]):
            if _is_missing(value):
                raise ManifestError(
                    f"{dataset[row][ROW_COLUMN]}: column {column!r} must be a media path, got {value!r}"
                )
            if isinstance(value, str) and not os.path.isfile(value):
                missing.append((row, value))
    if not missing:
        return dataset, 0
    places = dataset[ROW_COLUMN]
    listed = "; ".join(f"{places[row]}: {path}" for row, path in missing[:_SHOWN])
    more = f" (and {len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else ""
    if policy == "abort":
        raise ManifestError(
            f"{len(missing)} media file(s) of split {split!r} do not exist: {listed}{more}. Fix the paths, or pass "
            "--on_decode_error skip to leave those clips out (they are counted)."
        )
    bad = {row for row, _ in missing}
    logger.warning("Skipping %d clip(s) of split %r with missing files: %s%s", len(bad), split, listed, more)
    if len(bad) == len(dataset):
        raise ManifestError(f"every clip of split {split!r} is missing its media file")
    return dataset.select([i for i in range(len(dataset)) if i not in bad]), len(bad)


# ---- decoding ---------------------------------------------------------------------------------------------------

# Item keys besides the model's inputs: the clip's name (messages, the face-crop report) and, for a clip skipped
# under `--on_decode_error skip`, why it failed (the collator drops it).
SOURCE_KEY = "clip_source"
FAILURE_KEY = "decode_error"


def media_value(cell) -> Any:
    """The path or bytes of a media cell: a path string, or an undecoded `Video` / `Audio` cell."""
    if isinstance(cell, Mapping):
        return cell.get("bytes") if cell.get("bytes") is not None else cell.get("path")
    return cell


class ClipTransform:
    """Rows -> model inputs and `labels`, decoded by the processor: a `Dataset.set_transform` /
    `IterableDataset.map(batched=True)` function (`__call__`), and one row at a time for shards (`decode`).

    Args:
        processor: A [`SocialMAEProcessor`] sized to the model.
        encoder: The run's [`TargetEncoder`] (its `columns` say where the media and targets are).
        modality: `"audiovisual"`, `"audio"` or `"video"`: which inputs each item has.
        training: Random frame choice (window start / slot), as the originals train; deterministic otherwise.
        on_decode_error: `"abort"` raises [`ClipDecodeError`]; `"skip"` marks the item for the collator to drop.
        split: Names rows in messages.
    """

    def __init__(self, processor, encoder: TargetEncoder, *, modality="audiovisual", training=False,
                 on_decode_error="abort", split="train"):  # fmt: skip
        if modality not in MODALITY_CHOICES:
            raise ValueError(f"modality must be one of {tuple(MODALITY_CHOICES)}, got {modality!r}")
        if on_decode_error not in DECODE_ERROR_POLICIES:
            raise ValueError(f"on_decode_error must be one of {DECODE_ERROR_POLICIES}, got {on_decode_error!r}")
        if "video" in MODALITY_CHOICES[modality] and encoder.columns.video is None:
            raise ValueError(f"modality {modality!r} needs a video column")
        self.modalities = MODALITY_CHOICES[modality]
        self.processor, self.encoder = processor, encoder
        self.training, self.on_decode_error, self.split = training, on_decode_error, split

    def __call__(self, batch: Mapping[str, list]) -> dict[str, list]:
        count = len(next(iter(batch.values())))
        rows = [{key: values[i] for key, values in batch.items()} for i in range(count)]
        items = [self.decode(row, self._name(row, i)) for i, row in enumerate(rows)]
        keys = dict.fromkeys(key for item in items for key in item)  # a failed clip's item lacks its inputs
        return {key: [item.get(key) for item in items] for key in keys}

    def _name(self, row: Mapping, number: int) -> str:
        if ROW_COLUMN in row:
            return row[ROW_COLUMN]
        return f"split {self.split!r} streamed row {number + 1}"

    def decode(self, row: Mapping, name: str, modalities=None, generator=None, media=None) -> dict:
        """One row's model inputs (`modalities`, default the run's) and `labels`, or a failure item (`skip`).
        `media`: (video, audio) instead of the row's media columns (a shard sample's members)."""
        columns = self.encoder.columns
        if media is None:
            media = [media_value(row.get(column)) if column else None for column in (columns.video, columns.audio)]
        video, audio = media
        modalities = tuple(self.modalities if modalities is None else modalities)
        wants_video = "video" in modalities
        crops = wants_video and self.processor.video_processor.face_crop is not None
        item = {"labels": self.encoder.encode(row, name)} if self.encoder.task != "pretraining" else {}
        try:
            if video is None and audio is None:
                raise InvalidInputError(f"no media (columns {columns.media})")
            features = self.processor(
                videos=video if (wants_video or audio is None) else None,
                audio=audio,
                training=self.training,
                modalities=modalities,
                generator=generator,
                return_face_crop=crops,
            )
        except DECODE_ERRORS as error:
            return self.failure(name, video, audio, error)
        item.update({key: value[0] for key, value in features.items()})
        item[SOURCE_KEY], item[FAILURE_KEY] = name, None
        return item

    def failure(self, name: str, video, audio, error: Exception) -> dict:
        """Under `abort`, raise [`ClipDecodeError`] naming the clip; under `skip`, log it and return an item the
        collator drops (`__call__` gives it the batch's other keys, as None)."""
        names = ", ".join(describe_source(v) for v in (video, audio) if v is not None)
        message = f"{name} ({names}): {type(error).__name__}: {error}"
        if self.on_decode_error == "abort":
            raise ClipDecodeError(
                f"cannot decode {message}. Fix or remove the clip, or pass --on_decode_error skip to skip "
                "undecodable clips (they are counted and reported)."
            ) from error
        logger.warning("Skipping a clip that failed to decode: %s", message)
        return {SOURCE_KEY: name, FAILURE_KEY: f"{type(error).__name__}: {error}"}


def decoded_dataset(
    source,
    processor,
    encoder: TargetEncoder | ManifestColumns,
    *,
    split: str,
    modality: str = "audiovisual",
    training: bool = False,
    on_decode_error: str = "abort",
    shuffle_buffer_size: int = 1000,
    seed: int = 0,
    use_precomputed_features: bool = True,
):
    """A split's clips ([`load_clip_datasets`]) decoded on the fly: a `Dataset` through `set_transform` (shuffled
    by the `Trainer`'s sampler), a stream through `IterableDataset.map` (shuffled by `datasets` in training), a
    [`ShardSet`] as a [`ShardedClipDataset`]. `encoder`: the run's targets, or for pretraining (no targets) the
    media columns alone. `shuffle_buffer_size` and `seed` are for streams and shards."""
    if isinstance(encoder, ManifestColumns):
        encoder = TargetEncoder("pretraining", (), encoder)
    transform = ClipTransform(
        processor, encoder, modality=modality, training=training, on_decode_error=on_decode_error, split=split
    )
    if isinstance(source, ShardSet):
        return ShardedClipDataset(
            source,
            transform,
            shuffle_buffer_size=shuffle_buffer_size,
            seed=seed,
            use_precomputed_features=use_precomputed_features,
        )
    if hasattr(source, "__len__"):
        source = source.with_transform(transform)
        return source
    if training and shuffle_buffer_size:
        source = source.shuffle(seed=seed, buffer_size=shuffle_buffer_size)
    return source.map(transform, batched=True, batch_size=8, remove_columns=list(source.column_names or []) or None)
