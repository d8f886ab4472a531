"""Turning raw targets (class names, lists of names, floats) into what the model's `labels` take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .manifest import TASKS, ClipRecord, ManifestError

__all__ = ["TargetEncoder", "classes_of"]


def classes_of(records: Sequence[ClipRecord], task: str) -> set[str]:
    """Every class name the records' targets use (single-label or multi-label)."""
    seen = set()
    for record in records:
        seen.update((record.target,) if task == "classification" else record.target)
    return seen


@dataclass(frozen=True)
class TargetEncoder:
    """Class names (or regression target names) in model output order, and the encoding of one record.

    Classification encodes a class index; multi-label a multi-hot float list; regression the floats as given;
    pretraining has no target.
    """

    task: str
    names: tuple[str, ...]

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"label names must be unique, got {list(self.names)}")
        if self.task != "pretraining" and not self.names:
            raise ValueError(f"task {self.task!r} needs at least one label or target name")

    @classmethod
    def fit(cls, task: str, records: Sequence[ClipRecord], names: Sequence[str] | None = None) -> TargetEncoder:
        """Classes from `names` (that order) or, when not given, the sorted classes of `records`."""
        if task in ("regression", "pretraining"):
            return cls(task, tuple(names or ()))
        if names is None:
            names = sorted(classes_of(records, task))
        encoder = cls(task, tuple(names))
        encoder.check(records)
        return encoder

    @property
    def num_labels(self) -> int:
        return len(self.names)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def check(self, records: Sequence[ClipRecord]) -> None:
        """Every record's classes are known; regression records have one value per target."""
        for record in records:
            self.encode(record)

    def encode(self, record: ClipRecord) -> int | list[float] | None:
        if self.task == "pretraining":
            return None
        if self.task == "regression":
            if len(record.target) != self.num_labels:
                raise ManifestError(
                    f"{record.source}: {len(record.target)} target values for {self.num_labels} targets {self.names}"
                )
            return [float(v) for v in record.target]
        index = self.label2id
        classes = (record.target,) if self.task == "classification" else record.target
        unknown = [c for c in classes if c not in index]
        if unknown:
            by_case = {name.casefold(): name for name in self.names}
            hints = [f"{c!r} vs {by_case[c.casefold()]!r}" for c in unknown if c.casefold() in by_case]
            hint = f" (they differ only by case: {', '.join(hints)})" if hints else ""
            raise ManifestError(
                f"{record.source}: class(es) {unknown} not among the {self.num_labels} known classes "
                f"{list(self.names)}{hint}"
            )
        if self.task == "classification":
            return index[record.target]
        hot = [0.0] * self.num_labels
        for name in classes:
            hot[index[name]] = 1.0
        return hot
