"""Which classes a fine-tuning run predicts, and in which order.

`--class_names` when given; else a fine-tuned checkpoint's own label names when the data's classes are among
them (so that its head keeps its meaning); else the sorted classes of the training split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..configuration_social_mae import SocialMAEConfig
from .data.manifest import ClipRecord
from .data.targets import classes_of

__all__ = ["checkpoint_label_names", "choose_label_names"]


def checkpoint_label_names(
    model_name_or_path: str | None,
    task: str,
    *,
    cache_dir: str | None = None,
    revision: str = "main",
    token: str | None = None,
) -> list[str] | None:
    """The class names of a fine-tuned checkpoint of the same task; `None` for a pretrained or unnamed head."""
    if not model_name_or_path:
        return None
    try:
        config = SocialMAEConfig.from_pretrained(
            model_name_or_path, cache_dir=cache_dir, revision=revision, token=token
        )
    except OSError:
        return None
    names = [config.id2label[i] for i in sorted(config.id2label)]
    problem = "single_label_classification" if task == "classification" else task
    if config.problem_type not in (None, problem) or all(n == f"LABEL_{i}" for i, n in enumerate(names)):
        return None
    return names


def choose_label_names(
    task: str,
    records: Mapping[str, Sequence[ClipRecord]],
    *,
    class_names: Sequence[str] | None = None,
    checkpoint_names: Sequence[str] | None = None,
) -> list[str] | None:
    """Class names in output order for `records` (split -> clips); `None` for regression (its names are the target
    columns).

    Args:
        class_names: The user's explicit classes and order (`--class_names`).
        checkpoint_names: The starting checkpoint's classes ([`checkpoint_label_names`]).
    """
    if task == "regression":
        return None
    if class_names:
        return [name.strip() for name in class_names if name.strip()]
    seen = classes_of([record for split in records.values() for record in split], task)
    if checkpoint_names is not None and seen <= set(checkpoint_names):
        return list(checkpoint_names)
    if not records.get("train"):
        raise ValueError(
            "no training split to read the classes from and the checkpoint's labels do not cover the data: "
            "pass --class_names"
        )
    return sorted(seen)
