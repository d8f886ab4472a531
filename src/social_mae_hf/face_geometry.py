"""Where the square crop goes, frame by frame, and how it is cut.

The crop's side is `margin` times the median face size over the followed frames (one side for the clip, so the
frames stack and the face keeps its scale). Its centre is the median of the face centres over the whole clip
(`"clip"`: one still crop, as a face track of a talking head), a running median over `window` sampled frames
(`"running_median"`: follows a face that moves), or each frame's own (`"none"`). Medians, not means or an
exponential average: the sampled frames are few and far apart, the typical error is one missed or wrong box, which
a median ignores; and the whole clip is known, so no causal filter is needed. Frames where the face was missed take
the centre of the nearest frame where it was seen.

The square stays centred on the face: where it leaves the frame (a face at the edge, partly out of the picture), the
missing part is padded with black, never shifted onto something else. The crop comes before any resize, so the
model sees the face at the full source resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .face_tracking import centre, face_size

SMOOTHINGS = ("clip", "running_median", "none")


def crop_boxes(
    followed: dict[int, Sequence[float]],
    count: int,
    width: int,
    height: int,
    *,
    margin: float = 1.3,
    smoothing: str = "clip",
    window: int = 3,
) -> list[tuple[int, int, int, int]]:
    """Per frame, the square crop `(x, y, side, side)` around the followed face, in the pixels of a `width` x
    `height` frame; it may reach outside the frame (`cut_crops` pads there)."""
    if not followed:
        raise ValueError("crop_boxes needs at least one frame with a face")
    if smoothing not in SMOOTHINGS:
        raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
    seen = sorted(followed)
    side = max(1, round(margin * float(np.median([face_size(followed[t]) for t in seen]))))
    centres = {t: centre(followed[t]) for t in seen}
    if smoothing == "clip":
        per_frame = [_median_point([centres[t] for t in seen])] * count
    else:
        half = window // 2 if smoothing == "running_median" else 0
        per_frame = []
        for t in range(count):
            near = [s for s in seen if abs(s - t) <= half]
            if not near:  # the face was missed around t: hold the nearest frame where it was seen
                near = [min(seen, key=lambda s: (abs(s - t), s))]
            per_frame.append(_median_point([centres[s] for s in near]))
    return [(round(cx - side / 2), round(cy - side / 2), side, side) for cx, cy in per_frame]


def cut_crops(frames: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
    """`(T, side, side, C)` crops of `(T, H, W, C)` frames at `boxes` (one side for all), black outside the frame."""
    count, height, width = frames.shape[:3]
    side = boxes[0][2]
    out = np.zeros((count, side, side, frames.shape[3]), frames.dtype)
    for t, (x, y, _, _) in enumerate(boxes):
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + side, width), min(y + side, height)
        if x1 > x0 and y1 > y0:
            out[t, y0 - y : y1 - y, x0 - x : x1 - x] = frames[t, y0:y1, x0:x1]
    return out


def _median_point(points: list[tuple[float, float]]) -> tuple[float, float]:
    x, y = np.median(np.asarray(points, np.float64), axis=0)
    return float(x), float(y)


def draw_box(frame: np.ndarray, box: Sequence[float], colour=(255, 0, 0), thickness: int = 2) -> np.ndarray:
    """A copy of `frame` (H, W, 3 uint8) with the outline of `box` (x, y, w, h) drawn inside its edges."""
    out = frame.copy()
    height, width = out.shape[:2]
    x, y, w, h = (float(v) for v in box[:4])
    x0, y0, x1, y1 = max(0, round(x)), max(0, round(y)), min(width, round(x + w)), min(height, round(y + h))
    if x1 <= x0 or y1 <= y0:
        return out
    t = max(1, thickness)
    colour = np.asarray(colour, np.uint8)
    out[y0 : min(y0 + t, y1), x0:x1] = colour
    out[max(y1 - t, y0) : y1, x0:x1] = colour
    out[y0:y1, x0 : min(x0 + t, x1)] = colour
    out[y0:y1, max(x1 - t, x0) : x1] = colour
    return out
