"""`predictions.csv`: the test clips' predictions next to the manifest rows they came from."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence

import numpy as np

from .data.manifest import ClipRecord
from .data.targets import TargetEncoder

__all__ = ["write_predictions"]

logger = logging.getLogger(__name__)


def _media_name(record: ClipRecord) -> str:
    media = record.video if record.video is not None else record.audio
    return media if isinstance(media, str) else str(media)


def write_predictions(path: str, records: Sequence[ClipRecord] | None, predictions, encoder: TargetEncoder) -> None:
    """One row per test clip: its manifest row and media, the prediction, and per-class probabilities (sigmoids
    for multi-label) or per-target values. `predictions` are the logits `Trainer.predict` returns; `records` the
    test clips in order (`None` for a `datasets` stream, whose rows are not listed: no source and media)."""
    predictions = np.asarray(predictions[0] if isinstance(predictions, tuple) else predictions)
    matched = records is not None and len(predictions) == len(records)
    if records is None:
        logger.warning("The test clips were streamed, not listed: predictions.csv has no source and media values")
    elif not matched:
        logger.warning("Some test clips were skipped: predictions.csv rows cannot be matched to manifest rows")
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
        writer.writerow(["source", "media", *(["prediction"] if chosen is not None else []), *names])
        for i, row in enumerate(scores):
            where = [records[i].source, _media_name(records[i])] if matched else ["", ""]
            label = [chosen[i]] if chosen is not None else []
            writer.writerow([*where, *label, *(f"{v:.6g}" for v in row)])
