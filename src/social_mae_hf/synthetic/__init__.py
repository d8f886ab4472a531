"""Synthetic audiovisual media for tests, demos, benchmarks and learning proofs, without real data.

`clips.py` writes single clips (a face-like shape whose mouth opens with its own voice); `dataset.py` writes
learnable labelled or unlabelled datasets of them with manifests.
"""

from .clips import (
    AUDIO_KINDS,
    SHAPES,
    make_frames,
    make_waveform,
    read_frame_counter,
    write_audio,
    write_clip,
)
from .dataset import CLASSIFICATION_LABELS, SYNTHETIC_TASKS, write_synthetic_dataset

__all__ = [
    "AUDIO_KINDS",
    "CLASSIFICATION_LABELS",
    "SHAPES",
    "SYNTHETIC_TASKS",
    "make_frames",
    "make_waveform",
    "read_frame_counter",
    "write_audio",
    "write_clip",
    "write_synthetic_dataset",
]
