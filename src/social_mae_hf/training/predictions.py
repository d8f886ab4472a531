"""`predictions.csv`: each test clip's media, its true label when the data has one, the prediction, and per-class
probabilities (sigmoids for multi-label) or per-target values."""

from __future__ import annotations

import csv
import logging

import numpy as np

from ..media import describe_source
from ..shards.dataset import ShardedClipDataset
from .data import ROW_COLUMN, TargetEncoder, media_value

__all__ = ["test_clips", "write_predictions"]

logger = logging.getLogger(__name__)


def test_clips(dataset, encoder: TargetEncoder) -> list[tuple[str, dict]] | None:
    """(media name, row holding the targets) of each clip of a test split in its order; `None` for a stream."""
    if isinstance(dataset, ShardedClipDataset):
        return dataset.list_rows()
    if not hasattr(dataset, "__len__"):
        return None
    columns = encoder.columns
    wanted = [c for c in (columns.video or columns.audio, columns.label, *encoder.names) if c in dataset.column_names]
    table = dataset.select_columns([*dict.fromkeys(wanted), ROW_COLUMN]).with_format(None).to_list()
    media = columns.video or columns.audio
    return [(describe_source(media_value(row[media])), row) for row in table]


def _true_label(encoder: TargetEncoder, row: dict) -> str:
    """The row's target as written in predictions.csv (class names; regression targets have their own columns)."""
    if encoder.task == "regression" or encoder.columns.label not in row:
        return ""
    return ",".join(encoder.classes(row, "a test clip"))


def write_predictions(path: str, dataset, predictions, encoder: TargetEncoder) -> None:
    """`dataset`: the test split as the run loaded it (rows in the order of `predictions`, the logits
    `Trainer.predict` returns)."""
    clips = test_clips(getattr(dataset, "dataset", dataset), encoder)
    predictions = np.asarray(predictions[0] if isinstance(predictions, tuple) else predictions)
    matched = clips is not None and len(predictions) == len(clips)
    if clips is None:
        logger.warning("The test clips were streamed, not listed: predictions.csv has no media and label values")
    elif not matched:
        logger.warning("Some test clips were skipped: predictions.csv rows cannot be matched to the test clips")
    names = list(encoder.names)
    if encoder.task == "classification":
        scores = np.exp(predictions - predictions.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
        chosen = [names[int(row.argmax())] for row in scores]
    elif encoder.task == "multi_label_classification":
        scores = 1.0 / (1.0 + np.exp(-predictions))
        chosen = [",".join(n for n, s in zip(names, row) if s > 0.5) for row in scores]
    else:
        scores, chosen = predictions, None
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        regression = chosen is None
        if regression:  # predicted values under the target names, the true ones under true_<name>
            writer.writerow(["media", *names, *(f"true_{name}" for name in names)])
        else:
            writer.writerow(["media", "label", "prediction", *names])
        for i, row in enumerate(scores):
            media, data = clips[i] if matched else ("", {})
            if regression:
                writer.writerow([media, *(f"{v:.6g}" for v in row), *(data.get(name, "") for name in names)])
            else:
                writer.writerow([media, _true_label(encoder, data), chosen[i], *(f"{v:.6g}" for v in row)])
