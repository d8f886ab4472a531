"""Evaluation metrics computed offline with scikit-learn / numpy (no `evaluate`, no Hub), for the training scripts
(`MetricsComputer`, the Trainer's `compute_metrics`) and `social-mae evaluate` alike. Needs scikit-learn (the
`train` extra).

Classification: accuracy, balanced accuracy (mean per-class recall, the fair score on imbalanced sets such as
CREMA-D), F1 micro and macro (the paper's CREMA-D and NDC-ME scores), and per class precision, recall and F1. Multi-label: F1 micro / macro at a 0.5 probability threshold, exact-match
accuracy and mean average precision. Regression: 1 - MAE per target and on average (the First Impressions
score, for targets in [0, 1]) and Pearson r. Pretraining: the mean reconstruction and contrastive losses and
the contrastive accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

__all__ = [
    "PRETRAINING_STATS",
    "MetricsComputer",
    "classification_metrics",
    "confusion_counts",
    "label_metrics",
    "multi_label_metrics",
    "paper_metrics_line",
    "pretraining_metrics",
    "regression_metrics",
]

# Columns of the per-clip statistics the pretraining trainer evaluates (see trainer.py).
PRETRAINING_STATS = (
    "audio_reconstruction_loss",
    "video_reconstruction_loss",
    "reconstruction_loss",
    "contrastive_loss",
    "contrastive_accuracy",
)


def classification_metrics(logits: np.ndarray, labels: np.ndarray, names: Sequence[str] = ()) -> dict[str, float]:
    """Single-label scores from logits `(n, num_labels)` and class indices `(n,)` ([`label_metrics`] of the
    argmax)."""
    return label_metrics(np.asarray(logits).argmax(axis=-1), labels, names)


def label_metrics(predicted: np.ndarray, labels: np.ndarray, names: Sequence[str] = ()) -> dict[str, float]:
    """Single-label scores from predicted and true class indices `(n,)`; with the class `names` (in output order)
    also `precision_<name>`, `recall_<name>` and `f1_<name>` (0 for a class never predicted or never present).
    F1 macro averages the classes that the clips have or that were predicted (scikit-learn's default): a class with
    neither has no F1 to average."""
    predicted = np.asarray(predicted).astype(int)
    labels = np.asarray(labels).astype(int)
    metrics = {
        "accuracy": float(accuracy_score(labels, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "f1_macro": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        "f1_micro": float(f1_score(labels, predicted, average="micro", zero_division=0)),
    }
    if names:
        precision, recall, f1, _ = precision_recall_fscore_support(
            labels, predicted, labels=list(range(len(names))), zero_division=0
        )
        for i, name in enumerate(names):
            metrics.update({f"precision_{name}": float(precision[i]), f"recall_{name}": float(recall[i])})
            metrics[f"f1_{name}"] = float(f1[i])
    return metrics


def confusion_counts(predicted: Sequence[int], labels: Sequence[int], num_labels: int) -> list[list[int]]:
    """`counts[i][j]`: clips of true class `i` predicted as class `j`."""
    return confusion_matrix(labels, predicted, labels=list(range(num_labels))).tolist()


def multi_label_metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Multi-label scores from logits and multi-hot targets `(n, num_labels)`; a class is predicted when its
    sigmoid exceeds 0.5. mAP averages over the classes that have a positive clip."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    predicted = (probabilities > 0.5).astype(int)
    present = labels.sum(axis=0) > 0
    mean_ap = (
        float(average_precision_score(labels[:, present], probabilities[:, present], average="macro"))
        if present.any()
        else float("nan")
    )
    return {
        "accuracy": float(accuracy_score(labels, predicted)),  # exact match of the label set
        "f1_macro": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        "f1_micro": float(f1_score(labels, predicted, average="micro", zero_division=0)),
        "mean_average_precision": mean_ap,
    }


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r; NaN when either side is constant (r is undefined there, and we do not invent a value)."""
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x**2).sum() * (y**2).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def regression_metrics(predictions: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """Per target `one_minus_mae_<name>`, `mae_<name>`, `pearson_<name>`, and their means over targets."""
    predictions = np.asarray(predictions, dtype=np.float64).reshape(len(labels), -1)
    labels = np.asarray(labels, dtype=np.float64).reshape(len(labels), -1)
    if predictions.shape != labels.shape or predictions.shape[1] != len(names):
        raise ValueError(
            f"predictions {predictions.shape} and labels {labels.shape} must both be (clips, {len(names)} targets)"
        )
    metrics = {}
    for i, name in enumerate(names):
        mae = float(np.abs(predictions[:, i] - labels[:, i]).mean())
        metrics[f"mae_{name}"] = mae
        metrics[f"one_minus_mae_{name}"] = 1.0 - mae
        metrics[f"pearson_{name}"] = _pearson(predictions[:, i], labels[:, i])
    metrics["mae"] = float(np.mean([metrics[f"mae_{n}"] for n in names]))
    metrics["one_minus_mae"] = 1.0 - metrics["mae"]
    metrics["pearson"] = float(np.mean([metrics[f"pearson_{n}"] for n in names]))
    return metrics


def pretraining_metrics(stats: np.ndarray) -> dict[str, float]:
    """Means of the per-clip pretraining statistics `(n, len(PRETRAINING_STATS))`.

    The contrastive accuracy depends on the batch size (chance is 1 / batch size): compare it between runs
    with the same evaluation batch size only.
    """
    stats = np.asarray(stats, dtype=np.float64)
    if stats.ndim != 2 or stats.shape[1] != len(PRETRAINING_STATS):
        raise ValueError(f"expected pretraining statistics (clips, {len(PRETRAINING_STATS)}), got {stats.shape}")
    return {name: float(np.nanmean(stats[:, i])) for i, name in enumerate(PRETRAINING_STATS)}


def paper_metrics_line(task: str, metrics: dict[str, float], prefix: str, names: Sequence[str] = ()) -> str | None:
    """The scores the Social-MAE paper reports, as one line (classification: F1 micro / macro; regression: 1 - MAE
    per target and their mean), from a split's metrics; `None` for other tasks, or when they were not computed."""
    if f"{prefix}_mae" not in metrics and f"{prefix}_f1_micro" not in metrics:
        return None
    if task == "classification":
        return f"{prefix}: F1 micro {metrics[f'{prefix}_f1_micro']:.4f}, F1 macro {metrics[f'{prefix}_f1_macro']:.4f}"
    if task == "regression":
        each = ", ".join(f"{name} {metrics[f'{prefix}_one_minus_mae_{name}']:.4f}" for name in names)
        return f"{prefix}: 1-MAE {each}; mean {metrics[f'{prefix}_one_minus_mae']:.4f} (MAE {metrics[f'{prefix}_mae']:.4f})"
    return None


class MetricsComputer:
    """The Trainer's `compute_metrics` for one task (a picklable callable, not a closure)."""

    def __init__(self, task: str, names: Sequence[str] = ()):
        self.task = task
        self.names = tuple(names)

    def __call__(self, prediction) -> dict[str, float]:
        predictions = prediction.predictions
        if self.task == "classification":
            return classification_metrics(predictions, prediction.label_ids, self.names)
        if self.task == "multi_label_classification":
            return multi_label_metrics(predictions, prediction.label_ids)
        if self.task == "regression":
            return regression_metrics(predictions, prediction.label_ids, self.names)
        if self.task == "pretraining":
            return pretraining_metrics(predictions)
        raise ValueError(f"no metrics for task {self.task!r}")
