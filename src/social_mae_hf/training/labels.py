"""Which classes a fine-tuning run predicts, and in which order.

`--class_names` when given; else a fine-tuned checkpoint's own label names when the data's classes are among
them (so that its head keeps its meaning); else the sorted classes of the training split. Read from the data,
a class that only validation or test clips have, or two names that differ only by case ("Happy" / "happy"),
would become an output that no training clip teaches: both are errors naming the classes and their splits,
unless `--class_names` lists the classes to keep.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from ..configuration_social_mae import SocialMAEConfig
from ..errors import ManifestError

logger = logging.getLogger(__name__)

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


def _where(name: str, by_split: Mapping[str, set[str]], checkpoint: Iterable[str]) -> str:
    places = [split for split, classes in by_split.items() if name in classes]
    places += ["the checkpoint's labels"] if name in checkpoint else []
    return f"{name!r} ({', '.join(places)})"


def _check_case_variants(by_split: Mapping[str, set[str]], checkpoint: Sequence[str]) -> None:
    """Names that differ only by case, in the data or between the data and the checkpoint, are one class
    spelled two ways far more often than two classes."""
    variants: dict[str, set[str]] = {}
    for name in set().union(*by_split.values(), checkpoint):
        variants.setdefault(name.casefold(), set()).add(name)
    in_data = set().union(*by_split.values())
    clashes = [sorted(names) for names in variants.values() if len(names) > 1 and len(names & in_data) > 0]
    if clashes:
        listed = "; ".join(" vs ".join(_where(n, by_split, checkpoint) for n in names) for names in sorted(clashes))
        raise ManifestError(
            f"class names that differ only by case: {listed}. Spell each class one way in the labels, or pass "
            "--class_names listing every class to keep them apart."
        )


def choose_label_names(
    task: str,
    records: Mapping[str, set[str] | None],
    *,
    class_names: Sequence[str] | None = None,
    checkpoint_names: Sequence[str] | None = None,
) -> list[str] | None:
    """Class names in output order for `records` (split -> the class names its clips use, `None` when unknown: a
    stream); `None` for regression (its names are the target columns).

    Args:
        class_names: The user's explicit classes and order (`--class_names`); they are taken as given.
        checkpoint_names: The starting checkpoint's classes ([`checkpoint_label_names`]).

    Raises:
        ManifestError: Read from the data, classes that differ only by case, or classes with no training clip.
    """
    if task == "regression":
        return None
    by_split = {split: set(value) for split, value in records.items() if value is not None}
    if class_names:
        names = [name.strip() for name in class_names if name.strip()]
        untaught = sorted(set(names) - by_split["train"]) if "train" in by_split else []
        if untaught:
            logger.warning("--class_names has class(es) with no training clip: %s", untaught)
        return names
    unknown = sorted(split for split, value in records.items() if value is None)
    if unknown:
        raise ValueError(
            f"the classes of the streamed split(s) {unknown} are unknown (shards without a `social-mae shard` index, "
            "or a `datasets` stream whose label column is not a ClassLabel): pass --class_names"
        )
    seen = set().union(*by_split.values())
    if checkpoint_names is not None and seen <= set(checkpoint_names):
        return list(checkpoint_names)
    _check_case_variants(by_split, checkpoint_names or ())
    if not records.get("train"):
        raise ValueError(
            "no training split to read the classes from and the checkpoint's labels do not cover the data: "
            "pass --class_names"
        )
    untaught = sorted(seen - by_split["train"])
    if untaught:
        listed = ", ".join(_where(name, by_split, ()) for name in untaught)
        raise ManifestError(
            f"class(es) with no training clip: {listed}. The model would get an output that training never "
            "teaches. Fix the labels, or pass --class_names listing every class to keep them."
        )
    return sorted(by_split["train"])
