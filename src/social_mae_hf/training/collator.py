"""Batching decoded clips: stack inputs, type the labels, drop (and report) clips that failed to decode, count the
clips where the face crop found no face."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .data import FAILURE_KEY, SOURCE_KEY, ClipDecodeError

__all__ = ["FACELESS_CLIPS_KEY", "FACES_FOUND_KEY", "SKIPPED_CLIPS_KEY", "SocialMAECollator"]

# Batch key listing the clips dropped from the batch; the trainer pops and counts it (the model never sees it).
SKIPPED_CLIPS_KEY = "skipped_clips"
# Batch key with, per clip of the batch, whether the face crop found its face; popped and counted by the trainer.
FACES_FOUND_KEY = "faces_found"
# Batch key naming the clips of the batch where the face crop found no face (for the trainer's report).
FACELESS_CLIPS_KEY = "faceless_clips"
_INPUTS = ("input_values", "pixel_values")


@dataclass
class SocialMAECollator:
    """`[item, ...]` -> `{"input_values", "pixel_values", "labels"}` tensors (whichever the items have).

    Labels become int64 class indices `(batch,)`, or float32 `(batch, num_labels)` for multi-hot and regression
    targets. Items of clips that failed to decode (`decode_error` set, under `--on_decode_error skip`) are dropped
    and named under `skipped_clips`; a batch in which every clip failed raises, since there is nothing to train on.
    The face crop's report (`face_found`, from a face-cropping processor) is not a model input: it becomes
    `faces_found`, one bool per clip, and `faceless_clips`, the names of those without a face, for the trainer.
    """

    def __call__(self, items: Sequence[dict]) -> dict:
        failed = [f"{item.get(SOURCE_KEY)}: {item[FAILURE_KEY]}" for item in items if item.get(FAILURE_KEY) is not None]
        kept = [item for item in items if item.get(FAILURE_KEY) is None]
        if not kept:
            raise ClipDecodeError(
                f"every clip of a batch of {len(items)} failed to decode ({'; '.join(failed)}); fix or remove these files"
            )
        keys = set(kept[0])
        for item in kept[1:]:
            if set(item) != keys:
                raise ValueError(f"items of one batch differ in their keys: {sorted(keys)} vs {sorted(item)}")
        batch = {name: torch.stack([item[name] for item in kept]) for name in _INPUTS if name in keys}
        if "labels" in keys:
            labels = [item["labels"] for item in kept]
            integers = all(isinstance(v, int) for v in labels)
            batch["labels"] = torch.tensor(labels, dtype=torch.long if integers else torch.float32)
        if failed:
            batch[SKIPPED_CLIPS_KEY] = failed
        if "face_found" in keys:
            batch[FACES_FOUND_KEY] = [bool(item["face_found"]) for item in kept]
            if SOURCE_KEY in keys:
                batch[FACELESS_CLIPS_KEY] = [item[SOURCE_KEY] for item in kept if not item["face_found"]]
        return batch
