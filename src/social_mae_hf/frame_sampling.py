"""Which source frames the originals feed their models, as pure index formulas.

Indices are positions in the stream's frame sequence; the video processor turns them into times (index / fps)
and `media.MediaFile` picks frames by timestamp, which for a constant frame rate is exactly those frames.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["cav_mae_frame_index", "social_mae_frame_indices", "social_mae_window_start"]


def _randint(high_inclusive: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(0, high_inclusive + 1, (1,), generator=generator).item())


def social_mae_window_start(
    num_source_frames: int,
    fps: float,
    *,
    window_seconds: float = 4.0,
    training: bool = False,
    generator: torch.Generator | None = None,
) -> int:
    """First frame of the Social-MAE window of `window_seconds * fps` frames.

    The original draws it uniformly from [0, int(count - window)] at training AND evaluation
    (`random.randint`); we draw it (with `generator`) only when `training`, and centre it otherwise,
    so that evaluation is deterministic. Clips shorter than the window start at 0.
    """
    span = window_seconds * fps
    if num_source_frames < span:
        return 0
    last = int(num_source_frames - span)
    return _randint(last, generator) if training else last // 2


def social_mae_frame_indices(
    num_source_frames: int,
    fps: float,
    start: int,
    *,
    num_frames: int = 8,
    sample_fps: float = 2.0,
    window_seconds: float = 4.0,
) -> list[int]:
    """The Social-MAE loader's frame indices for a window starting at `start`.

    As the original: step = int(fps // sample_fps) frames (at 25 fps that is 12, so the 8 frames span
    3.36 s, not 4 s), indices arange(start, start + window_seconds * fps, step)[:num_frames]; a clip
    shorter than the window uses arange(0, count, step) and tiles it (i0..ik, i0..ik, ...) up to
    `num_frames`. Beyond the original (which crashes or returns fewer frames): fps < sample_fps uses
    a step of 1, and any list shorter than `num_frames` is tiled the same way.
    """
    step = max(1, int(fps // sample_fps))
    span = window_seconds * fps
    if num_source_frames < span:
        start, span = 0, num_source_frames
    keep = np.arange(start, start + span, step)[:num_frames]
    if len(keep) == 0:
        raise ValueError(f"no frames to sample from a video of {num_source_frames} frames")
    keep = np.resize(keep, num_frames)  # tiles f0..fk, f0..fk, ...
    return [int(k) for k in keep]


def cav_mae_frame_index(
    num_source_frames: int,
    fps: float,
    slot: int,
    *,
    num_slots: int = 10,
    max_seconds: float = 10.0,
) -> int:
    """The frame CAV-MAE's extraction script saved as `frame_{slot}`.

    It spreads `num_slots` slots over min(count, int(fps * max_seconds)) frames, slot i at
    int(i * (total / num_slots)), then reads it with `cv2` after `set(CAP_PROP_POS_FRAMES, idx - 1)`,
    which returns frame idx - 1 (frame 0 for idx 0): an off-by-one we reproduce. Evaluation uses slot
    num_slots // 2 (5), training a uniformly random slot.
    """
    total = min(int(num_source_frames), int(fps * max_seconds))
    index = int(slot * (total / num_slots))
    return max(index - 1, 0)


def cav_mae_slot(num_slots: int = 10, *, training: bool = False, generator: torch.Generator | None = None) -> int:
    """Evaluation: the middle slot int(num_slots / 2); training: a uniformly random slot."""
    return _randint(num_slots - 1, generator) if training else int(num_slots / 2)
