"""Splits made by ratio and seed: whole speakers go to one split, so that no one is heard in two."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence

from .table import SPLITS, DatasetLayoutError

__all__ = ["DEFAULT_RATIOS", "parse_ratios", "split_counts", "split_groups"]

DEFAULT_RATIOS = (0.8, 0.1, 0.1)


def parse_ratios(text: str | Sequence[float] | None) -> tuple[float, float, float]:
    """`"0.8,0.1,0.1"` -> train / validation / test shares, each >= 0, summing to 1 (train > 0)."""
    if text is None:
        return DEFAULT_RATIOS
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        ratios = tuple(float(p) for p in parts)
    except ValueError:
        raise DatasetLayoutError(f"split ratios {text!r}: expected three numbers such as 0.8,0.1,0.1") from None
    if len(ratios) != 3 or any(not math.isfinite(r) or r < 0 for r in ratios) or ratios[0] <= 0:
        raise DatasetLayoutError(
            f"split ratios {text!r}: expected three shares >= 0 (train, validation, test; train > 0), e.g. 0.8,0.1,0.1"
        )
    if abs(sum(ratios) - 1) > 1e-6:
        raise DatasetLayoutError(f"split ratios {text!r} sum to {sum(ratios):g}, not 1")
    return ratios


def split_counts(n: int, ratios: Sequence[float], *, what: str) -> tuple[int, int, int]:
    """How many of `n` items each split gets: validation and test rounded, train the rest; a split with a share
    gets at least one item, and train always does (else a `DatasetLayoutError` naming `what` the items are)."""
    validation, test = (max(1, round(n * r)) if r > 0 else 0 for r in ratios[1:])
    train = n - validation - test
    if train < 1:
        wanted = sum(1 for r in ratios if r > 0)
        raise DatasetLayoutError(f"{n} {what}: too few for {wanted} split(s) with ratios {tuple(ratios)}")
    return train, validation, test


def split_groups(groups: Iterable[str], ratios: Sequence[float], seed: int, *, what: str) -> dict[str, str]:
    """Group (speaker) -> split: the sorted groups shuffled by `seed`, then cut by [`split_counts`]."""
    order = sorted(set(groups))
    random.Random(seed).shuffle(order)
    train, validation, _ = split_counts(len(order), ratios, what=what)
    names = [SPLITS[0]] * train + [SPLITS[1]] * validation + [SPLITS[2]] * (len(order) - train - validation)
    return dict(zip(order, names))
