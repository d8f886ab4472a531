"""What reading a dataset layout gives: each split's rows, which columns hold what, and the files left out."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SPLITS", "DatasetLayoutError", "ManifestTable"]

# The manifests written, in this order: the training scripts' --train_file / --validation_file / --test_file.
SPLITS = ("train", "validation", "test")


class DatasetLayoutError(ValueError):
    """A SOURCE folder that is not the layout asked for, or options that do not fit it: says what was expected and
    what was found."""


@dataclass
class ManifestTable:
    """Rows per split (media columns hold absolute paths; the writer makes them relative to the CSV).

    Args:
        columns: The CSV header, in order.
        splits: `train` / `validation` / `test` -> rows (column -> text).
        task: The training scripts' `--task` for these manifests.
        video_column / audio_column: Media columns (`None`: not in the table).
        label_column: Class name column (classification).
        target_columns: Float columns (regression), in output order.
        speaker_column: Column naming who speaks, when the dataset tells it.
        left_out: `(path, why)` of every file found that is not in a manifest.
        notes: Lines for the summary (which folder the videos came from, how the splits were made).
    """

    columns: list[str]
    splits: dict[str, list[dict[str, str]]]
    task: str
    video_column: str | None = "video"
    audio_column: str | None = None
    label_column: str | None = None
    target_columns: tuple[str, ...] = ()
    speaker_column: str | None = None
    left_out: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        for split in self.splits:
            if split not in SPLITS:
                raise ValueError(f"split {split!r} is none of {SPLITS}")
        self.splits = {split: list(self.splits.get(split, [])) for split in SPLITS}

    @property
    def media_columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.video_column, self.audio_column) if c is not None)

    def training_flags(self) -> list[str]:
        """The column and task flags of `examples/run_finetune.py` / `run_pretrain.py` for these manifests."""
        flags = []
        if self.video_column != "video":
            flags += ["--video_column", self.video_column or "none"]
        if self.audio_column is not None:
            flags += ["--audio_column", self.audio_column]
        if self.task == "classification":
            flags += ["--task", "classification"] + (
                ["--label_column", self.label_column] if self.label_column != "label" else []
            )
        elif self.task == "regression":
            flags += ["--task", "regression", "--target_columns", ",".join(self.target_columns)]
        return flags
