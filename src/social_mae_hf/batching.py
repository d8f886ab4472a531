"""One input or a list of inputs -> a batch, and how a batch item is named in error messages.

Shared by the feature extractor, the video processor and the processor, so that "item 2 of the batch
(clip.mp4)" means the same thing whichever of them refuses an input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .errors import InvalidInputError
from .media import describe_source, is_media_source

__all__ = ["as_batch", "is_array", "item_name", "per_item"]


def is_array(x) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor))


def as_batch(x, is_single: Callable, what: str, expected: str = "a path, bytes, an array") -> list | None:
    """`[x]` for one input, `list(x)` for a list of them, None for None; `what` names the argument in errors,
    `expected` says what one input may be."""
    if x is None:
        return None
    if is_single(x):
        return [x]
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            raise InvalidInputError(f"`{what}` is an empty list")
        return list(x)
    raise InvalidInputError(f"`{what}`: expected {expected} or a list of them, got {type(x).__name__}")


def per_item(value, batch: int, what: str) -> list:
    """One value per batch item: a list of `batch` values as given, any other value repeated."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * batch
    if len(values) != batch:
        raise InvalidInputError(f"`{what}` has {len(values)} values for a batch of {batch}")
    return values


def item_name(x, index: int, batch: int) -> str:
    where = f"item {index} of the batch" if batch > 1 else "the input"
    return f"{where} ({describe_source(x)})" if is_media_source(x) else where
