"""Class weights for imbalanced sets (CREMA-D has 763 to 2204 clips per class) and the weighted loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["balanced_class_weights", "parse_class_weights", "weighted_classification_loss"]


def balanced_class_weights(class_indices: Sequence[int], num_labels: int) -> torch.Tensor:
    """scikit-learn's "balanced" weights, n_clips / (num_labels * clips_of_class): a class seen half as often
    counts twice as much. A class with no training clip cannot be weighted and is an error."""
    counts = torch.bincount(torch.as_tensor(list(class_indices), dtype=torch.long), minlength=num_labels)
    if counts.numel() != num_labels:
        raise ValueError(f"class indices go up to {counts.numel() - 1}, beyond {num_labels} classes")
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"class(es) {empty} have no training clip, so they cannot be weighted")
    return counts.sum() / (num_labels * counts.float())


def parse_class_weights(value: str, class_indices: Sequence[int], names: Sequence[str]) -> torch.Tensor:
    """`--class_weights`: `"balanced"`, or one comma-separated positive number per class in label order."""
    if value.strip() == "balanced":
        return balanced_class_weights(class_indices, len(names))
    parts = [p.strip() for p in value.split(",")]
    try:
        weights = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--class_weights must be 'balanced' or comma-separated numbers, got {value!r}") from None
    if len(weights) != len(names):
        raise ValueError(f"--class_weights has {len(weights)} values for {len(names)} classes {list(names)}")
    if any(not w > 0 for w in weights):
        raise ValueError(f"--class_weights must be positive, got {weights}")
    return torch.tensor(weights, dtype=torch.float32)


def weighted_classification_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Class-weighted cross-entropy for class indices `(batch,)` or class probabilities `(batch, num_labels)`.

    With indices the mean is normalised by the summed weights of the batch's targets (torch's convention, so
    the loss scale does not drift with the batch's class mix); with probabilities (mixup) it is the plain mean.
    """
    if labels.dtype.is_floating_point:
        if labels.shape != logits.shape:
            raise ValueError(f"soft targets must have shape {tuple(logits.shape)}, got {tuple(labels.shape)}")
        labels = labels.float()
    return nn.functional.cross_entropy(logits.float(), labels, weight=weights.to(logits.device, torch.float32))
